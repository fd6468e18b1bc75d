package registryserver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"
)

// bigStore writes a store of servers servers (with their org index) and
// badges badges (with their server index), shaped as the registry writes
// them, and returns its path.
func bigStore(b *testing.B, servers, badges int) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), dbFile)
	db, err := bolt.Open(path, 0o600, &bolt.Options{NoFreelistSync: true})
	if err != nil {
		b.Fatal(err)
	}
	if err := runMigrations(db); err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	ids := make([]string, servers)
	const perTx = 10_000
	for start := 0; start < servers+badges; start += perTx {
		err := db.Update(func(tx *bolt.Tx) error {
			for i := start; i < min(start+perTx, servers+badges); i++ {
				if i < servers {
					ids[i] = uuid.NewString()
					rec := serverRecord{
						ID: ids[i], Org: "dev", Name: "MCP Server " + ids[i][:8],
						PublicKey: make([]byte, 32), PublicKeyPEM: strings.Repeat("p", 113), DIDKey: "did:key:z" + strings.Repeat("k", 48),
						Status: "active", TrustLevel: "1", CreatedAt: now, UpdatedAt: now, KeyUpdatedAt: now,
					}
					if err := insertServer(tx, &rec, createRequest{rec: rec}); err != nil {
						return err
					}
					continue
				}
				id := ids[i%servers]
				badge := badgeRecord{
					JTI: uuid.NewString(), ServerID: id, Org: "dev", Subject: "did:web:localhost%3A8080:servers:" + id,
					KeyThumbprint: strings.Repeat("t", 43), IssuedAt: now, ExpiresAt: now.Add(5 * time.Minute),
				}
				if err := putBadge(tx, badge); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkOpenStore measures opening a store of 100,000 records (50,000
// servers and 50,000 badges, each with its index entry): the checks before
// bbolt maps the file, bbolt's own open (which walks every page to rebuild
// the freelist), bbolt's Tx.Check, and openStore, which does all three.
//
//	go test -run '^$' -bench OpenStore -benchtime 20x ./internal/registryserver/
func BenchmarkOpenStore(b *testing.B) {
	path := bigStore(b, 50_000, 50_000)
	if st, err := openStore(path, false); err == nil {
		_ = st.db.View(func(tx *bolt.Tx) error {
			b.Logf("store: %d pages of %d bytes in use", tx.Size()/int64(st.db.Info().PageSize), st.db.Info().PageSize)
			return nil
		})
		_ = st.close()
	}
	b.Run("verifyStoreFile", func(b *testing.B) {
		for b.Loop() {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			info, _ := f.Stat()
			if err := verifyStoreFile(f, info.Size()); err != nil {
				b.Fatal(err)
			}
			_ = f.Close()
		}
	})
	b.Run("bolt.Open", func(b *testing.B) {
		for b.Loop() {
			db, err := bolt.Open(path, 0o600, &bolt.Options{NoFreelistSync: true, FreelistType: bolt.FreelistMapType, InitialMmapSize: 64 << 20})
			if err != nil {
				b.Fatal(err)
			}
			_ = db.Close()
		}
	})
	b.Run("Tx.Check", func(b *testing.B) {
		db, err := bolt.Open(path, 0o600, &bolt.Options{NoFreelistSync: true, FreelistType: bolt.FreelistMapType, InitialMmapSize: 64 << 20})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		for b.Loop() {
			if err := checkConsistency(db); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("openStore", func(b *testing.B) {
		for b.Loop() {
			st, err := openStore(path, false)
			if err != nil {
				b.Fatal(err)
			}
			_ = st.close()
		}
	})
}
