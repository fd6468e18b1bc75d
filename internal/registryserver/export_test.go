package registryserver

import bolt "go.etcd.io/bbolt"

// LastTxID returns the id of the last committed write transaction of s's
// store, so benchmarks can report how many writes shared a commit.
func LastTxID(s *Server) int {
	var id int
	_ = s.store.db.View(func(tx *bolt.Tx) error {
		id = tx.ID()
		return nil
	})
	return id
}
