package registryserver

// The store's server records. store.go describes the store: why bbolt, the
// durability it gives and the layout of its buckets.

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// Server records in the store.

// createRequest is one create call: the record to insert and, when the client
// sent an Idempotency-Key, the key and a hash of the request body.
type createRequest struct {
	rec      serverRecord
	idemKey  string
	bodyHash string
}

// createServer inserts c.rec, or, when c.idemKey was used before by the same
// org with the same body, returns the server created then (replayed = true).
func (s *store) createServer(c createRequest) (rec serverRecord, replayed bool, err error) {
	err = s.update(func(tx *bolt.Tx) error {
		rec, replayed = c.rec, false
		if c.idemKey != "" {
			prior, found, err := replayCreate(tx, c)
			if err != nil || found {
				rec, replayed = prior, found
				return err
			}
		}
		return insertServer(tx, &rec, c)
	})
	return rec, replayed, err
}

func replayCreate(tx *bolt.Tx, c createRequest) (serverRecord, bool, error) {
	var idem idempotencyRecord
	found, err := getJSON(tx.Bucket(bucketIdempotency), orgKey(c.rec.Org, c.idemKey), &idem)
	if err != nil || !found {
		return serverRecord{}, false, err
	}
	if idem.BodyHash != c.bodyHash {
		return serverRecord{}, false, errIdempotencyReused
	}
	rec, err := getServer(tx, idem.ServerID)
	if errors.Is(err, errNotFound) {
		err = errIdempotencyGone
	}
	return rec, err == nil, err
}

func insertServer(tx *bolt.Tx, rec *serverRecord, c createRequest) error {
	index := tx.Bucket(bucketOrgServers)
	seq, err := index.NextSequence()
	if err != nil {
		return err
	}
	rec.Seq = seq
	if err := putJSON(tx.Bucket(bucketServers), []byte(rec.ID), rec); err != nil {
		return err
	}
	if err := index.Put(orgSeqKey(rec.Org, seq), []byte(rec.ID)); err != nil {
		return err
	}
	if c.idemKey == "" {
		return nil
	}
	idem := idempotencyRecord{BodyHash: c.bodyHash, ServerID: rec.ID, CreatedAt: rec.CreatedAt}
	return putJSON(tx.Bucket(bucketIdempotency), orgKey(rec.Org, c.idemKey), idem)
}

// server returns the server with this id, whatever its organisation (for the
// public routes).
func (s *store) server(id string) (serverRecord, error) {
	var rec serverRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		rec, err = getServer(tx, id)
		return err
	})
	return rec, err
}

// orgServer returns the server with this id if it belongs to org; a server of
// another organisation is errNotFound: the registry never says whose a record is.
func (s *store) orgServer(org, id string) (serverRecord, error) {
	var rec serverRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		rec, err = getOrgServer(tx, org, id)
		return err
	})
	return rec, err
}

// listServers returns up to limit servers of org created after the one with
// sequence number after, in creation order, and the sequence number to resume
// from (0 when there are no more). after must be below the largest uint64
// (decodeSeqCursor refuses it), or after+1 would wrap to the first page.
func (s *store) listServers(org string, after uint64, limit int) ([]serverRecord, uint64, error) {
	var out []serverRecord
	var next uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		out, next = nil, 0
		prefix := orgKey(org, "")
		servers := tx.Bucket(bucketServers)
		c := tx.Bucket(bucketOrgServers).Cursor()
		for k, id := c.Seek(orgSeqKey(org, after+1)); k != nil && bytes.HasPrefix(k, prefix); k, id = c.Next() {
			if len(out) == limit {
				next = out[len(out)-1].Seq
				return nil
			}
			var rec serverRecord
			if _, err := getJSON(servers, id, &rec); err != nil {
				return err
			}
			out = append(out, rec)
		}
		return nil
	})
	return out, next, err
}

// keyChange is one PUT /v1/sdk/servers/{id}: register key, optionally rename.
type keyChange struct {
	org, id string
	key     publicKey
	name    string
	now     time.Time
}

// publicKey is a registered key with its stored encodings.
type publicKey struct {
	raw    ed25519.PublicKey
	pem    string
	didKey string
}

// registerKey applies a PUT. The same key is an idempotent success that only
// renames (when a different name is given) and revokes nothing; a new key
// replaces the old one and revokes every unexpired badge issued for it.
func (s *store) registerKey(c keyChange) (serverRecord, error) {
	// Fast path without a write transaction: the runtime SDK re-registers the
	// same key on every start, so most PUTs change nothing.
	rec, err := s.orgServer(c.org, c.id)
	if err != nil || !c.changes(rec) {
		return rec, err
	}
	err = s.update(func(tx *bolt.Tx) error {
		var err error
		rec, err = applyKeyChange(tx, c)
		return err
	})
	return rec, err
}

// changes reports whether c would modify rec.
func (c keyChange) changes(rec serverRecord) bool {
	return !bytes.Equal(rec.PublicKey, c.key.raw) || (c.name != "" && c.name != rec.Name)
}

func applyKeyChange(tx *bolt.Tx, c keyChange) (serverRecord, error) {
	rec, err := getOrgServer(tx, c.org, c.id)
	if err != nil || !c.changes(rec) {
		return rec, err
	}
	if c.name != "" {
		rec.Name = c.name
	}
	rec.UpdatedAt = c.now
	if !bytes.Equal(rec.PublicKey, c.key.raw) {
		oldThumbprint := keys.Thumbprint(rec.PublicKey)
		rec.PublicKey, rec.PublicKeyPEM, rec.DIDKey = bytes.Clone(c.key.raw), c.key.pem, c.key.didKey
		rec.KeyUpdatedAt = c.now
		ofOldKey := func(b badgeRecord) bool { return b.KeyThumbprint == oldThumbprint }
		if err := revokeServerBadges(tx, rec.ID, c.now, protocol.ReasonKeyRotated, ofOldKey); err != nil {
			return rec, err
		}
	}
	return rec, putJSON(tx.Bucket(bucketServers), []byte(rec.ID), rec)
}

// deleteServer removes a server of org and revokes its outstanding badges with
// reason server_deleted. The badge records stay, so their status still answers.
func (s *store) deleteServer(org, id string, now time.Time) (serverRecord, error) {
	var rec serverRecord
	err := s.update(func(tx *bolt.Tx) error {
		var err error
		if rec, err = getOrgServer(tx, org, id); err != nil {
			return err
		}
		all := func(badgeRecord) bool { return true }
		if err := revokeServerBadges(tx, id, now, protocol.ReasonServerDeleted, all); err != nil {
			return err
		}
		if err := deletePrefix(tx.Bucket(bucketServerBadges), []byte(id)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketOrgServers).Delete(orgSeqKey(org, rec.Seq)); err != nil {
			return err
		}
		return tx.Bucket(bucketServers).Delete([]byte(id))
	})
	return rec, err
}

// setStatus enables or disables a server of org.
func (s *store) setStatus(org, id, status string, now time.Time) (serverRecord, error) {
	var rec serverRecord
	err := s.update(func(tx *bolt.Tx) error {
		var err error
		if rec, err = getOrgServer(tx, org, id); err != nil || rec.Status == status {
			return err
		}
		rec.Status, rec.UpdatedAt, rec.DisabledAt = status, now, nil
		if status == protocol.StatusDisabled {
			rec.DisabledAt = &now
		}
		return putJSON(tx.Bucket(bucketServers), []byte(id), rec)
	})
	return rec, err
}
