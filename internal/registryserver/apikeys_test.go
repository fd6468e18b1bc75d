package registryserver

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// schema1Key is an API key as schema 1 stored it: api_keys[hex(SHA-256(key))].
type schema1Key struct {
	key, org string
	created  time.Time
}

// writeSchema1Store writes DIR/registry.db as a schema 1 registry did: the v1
// buckets, plain SHA-256 API key entries and the dev_key_created mark.
func writeSchema1Store(t *testing.T, dir string, keys []schema1Key) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, dbFile), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if err := applyMigration(tx, migrations[0]); err != nil {
			return err
		}
		for _, k := range keys {
			sum := sha256.Sum256([]byte(k.key))
			raw, _ := json.Marshal(apiKeyRecord{Org: k.org, CreatedAt: k.created})
			if err := tx.Bucket(bucketAPIKeys).Put([]byte(hex.EncodeToString(sum[:])), raw); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keyDevKeyCreated, []byte("1"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// storedAPIKeys returns the entries of api_keys (schema 1, plain SHA-256) and
// api_key_hmacs (keyed) of a registry.
func storedAPIKeys(t *testing.T, s *Server) (legacy, keyed map[string]apiKeyRecord) {
	t.Helper()
	legacy, keyed = map[string]apiKeyRecord{}, map[string]apiKeyRecord{}
	err := s.store.db.View(func(tx *bolt.Tx) error {
		for bucket, out := range map[string]map[string]apiKeyRecord{string(bucketAPIKeys): legacy, string(bucketAPIKeyHMACs): keyed} {
			err := tx.Bucket([]byte(bucket)).ForEach(func(k, v []byte) error {
				var rec apiKeyRecord
				if err := json.Unmarshal(v, &rec); err != nil {
					return err
				}
				out[string(k)] = rec
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return legacy, keyed
}

func getServers(t *testing.T, s *Server, key string) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, protocol.PathServers, nil)
	req.Header.Set(protocol.HeaderAPIKey, key)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec.Code
}

// TestAPIKeys_MigrateFromSHA256 opens a schema 1 store: its plain SHA-256
// entries keep authenticating, each moves to its keyed form on first use
// (keeping its organisation and creation time), unused ones stay as they are,
// and unknown keys write nothing.
func TestAPIKeys_MigrateFromSHA256(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	keys := []schema1Key{
		{key: "sk_test_schema1-dev-key-0123456789abcdef", org: "dev", created: created},
		{key: "sk_test_schema1-acme-key-0123456789abcdef", org: "acme", created: created.Add(time.Hour)},
	}
	writeSchema1Store(t, dir, keys)
	cfg := Config{DataDir: dir, PublicURL: "http://localhost:8080"}

	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if version, err := readSchemaVersion(s.store.db); err != nil || version != 2 {
		t.Fatalf("schema_version = %d, %v; want 2", version, err)
	}
	if len(s.store.keySecret) != 32 || bytes.Equal(s.store.keySecret, make([]byte, 32)) {
		t.Fatalf("API key secret = %x, want 32 random bytes", s.store.keySecret)
	}

	cases := []struct {
		name       string
		key        string
		use        bool
		wantStatus int
		wantLegacy bool // still stored as plain SHA-256
		wantKeyed  *apiKeyRecord
	}{
		{name: "used key moves to its keyed hash", key: keys[0].key, use: true, wantStatus: http.StatusOK, wantKeyed: &apiKeyRecord{Org: "dev", CreatedAt: created}},
		{name: "unused key stays until used", key: keys[1].key, wantLegacy: true},
		{name: "unknown key writes nothing", key: "sk_test_never-issued-0123456789abcdef", use: true, wantStatus: http.StatusUnauthorized},
	}
	for _, tc := range cases {
		if tc.use {
			if got := getServers(t, s, tc.key); got != tc.wantStatus {
				t.Errorf("%s: GET servers = %d, want %d", tc.name, got, tc.wantStatus)
			}
		}
	}
	legacy, keyed := storedAPIKeys(t, s)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := s.store.hashAPIKey(tc.key)
			if _, ok := legacy[h.legacy]; ok != tc.wantLegacy {
				t.Errorf("plain SHA-256 entry present = %v, want %v", ok, tc.wantLegacy)
			}
			got, ok := keyed[h.keyed]
			switch {
			case tc.wantKeyed == nil && ok:
				t.Errorf("keyed entry %+v, want none", got)
			case tc.wantKeyed != nil && (!ok || got.Org != tc.wantKeyed.Org || !got.CreatedAt.Equal(tc.wantKeyed.CreatedAt)):
				t.Errorf("keyed entry %+v (present %v), want %+v", got, ok, *tc.wantKeyed)
			}
		})
	}
	if len(keyed) != 1 {
		t.Errorf("keyed entries: %d, want 1 (only the used key)", len(keyed))
	}
	txBefore := LastTxID(s)
	getServers(t, s, "sk_test_never-issued-either-0123456789")
	getServers(t, s, keys[0].key)
	if got := LastTxID(s); got != txBefore {
		t.Errorf("an unknown key and a moved key committed %d write transactions, want 0", got-txBefore)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// After a restart both keys work, the moved one from its keyed hash, and
	// no plain SHA-256 entry is left.
	s, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, k := range keys {
		if got := getServers(t, s, k.key); got != http.StatusOK {
			t.Errorf("%s key after restart: GET servers = %d, want 200", k.org, got)
		}
	}
	if legacy, keyed := storedAPIKeys(t, s); len(legacy) != 0 || len(keyed) != 2 {
		t.Errorf("after using both keys: %d plain and %d keyed entries, want 0 and 2", len(legacy), len(keyed))
	}
}

// TestAPIKeys_FixedDevKeyReplacesSHA256 restarts a schema 1 store with the
// same --dev-api-key: its plain entry is replaced by the keyed one at once.
func TestAPIKeys_FixedDevKeyReplacesSHA256(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const fixed = "sk_test_fixed-since-schema1-0123456789"
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	writeSchema1Store(t, dir, []schema1Key{{key: fixed, org: "dev", created: created}})
	s, err := New(Config{DataDir: dir, PublicURL: "http://localhost:8080", DevAPIKey: fixed})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	legacy, keyed := storedAPIKeys(t, s)
	rec, ok := keyed[s.store.hashAPIKey(fixed).keyed]
	if len(legacy) != 0 || !ok || rec.Org != "dev" || !rec.CreatedAt.Equal(created) {
		t.Errorf("plain entries %v, keyed %+v (present %v); want none, and dev created %s", legacy, rec, ok, created)
	}
	if got := getServers(t, s, fixed); got != http.StatusOK {
		t.Errorf("GET servers = %d, want 200", got)
	}
}

// TestAPIKeys_HashesAreKeyedPerStore checks that a new store holds no plain
// SHA-256 of any key and that the same key hashes differently in two stores.
func TestAPIKeys_HashesAreKeyedPerStore(t *testing.T) {
	t.Parallel()
	const key = "sk_test_same-key-in-two-stores-0123456789"
	var hashes []string
	for range 2 {
		s, err := New(Config{DataDir: t.TempDir(), PublicURL: "http://localhost:8080", DevAPIKey: key})
		if err != nil {
			t.Fatal(err)
		}
		legacy, keyed := storedAPIKeys(t, s)
		sum := sha256.Sum256([]byte(key))
		if _, plain := keyed[hex.EncodeToString(sum[:])]; plain || len(legacy) != 0 || len(keyed) != 1 {
			t.Errorf("stored entries: plain %v, keyed %v; want one keyed entry that is not the SHA-256", legacy, keyed)
		}
		for h := range keyed {
			hashes = append(hashes, h)
		}
		_ = s.Close()
	}
	if hashes[0] == hashes[1] {
		t.Errorf("the same key has the same hash %s in two stores", hashes[0])
	}
}
