package registryserver

import (
	"encoding/binary"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/capiscio/terraform-provider-capiscio/internal/did"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

func TestRecoverPanics(t *testing.T) {
	t.Parallel()
	s, err := New(Config{DataDir: t.TempDir(), PublicURL: "http://localhost:8080"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	h := s.recoverPanics(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))

	var body protocol.ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusInternalServerError || body.Error != protocol.CodeInternal || body.Success {
		t.Errorf("reply %d %s, want 500 internal_error", rec.Code, rec.Body)
	}
	if got := s.Stats().Panics; got != 1 {
		t.Errorf("Panics = %d, want 1", got)
	}
}

func TestRateLimiter(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := map[string]struct {
		perMinute int
		at        []time.Duration // offsets of successive requests
		wantWaits []time.Duration
	}{
		"burst up to the limit": {perMinute: 2, at: []time.Duration{0, 0, 0}, wantWaits: []time.Duration{0, 0, 30 * time.Second}},
		"refills over time":     {perMinute: 2, at: []time.Duration{0, 0, 30 * time.Second}, wantWaits: []time.Duration{0, 0, 0}},
		"first request passes":  {perMinute: 60, at: []time.Duration{0}, wantWaits: []time.Duration{0}},
		"wait shrinks":          {perMinute: 1, at: []time.Duration{0, 0, 45 * time.Second}, wantWaits: []time.Duration{0, 60 * time.Second, 15 * time.Second}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := newRateLimiter(tc.perMinute)
			for i, off := range tc.at {
				if got := l.reserve("k", t0.Add(off)); got.Round(time.Millisecond) != tc.wantWaits[i] {
					t.Errorf("request %d at +%s: wait %s, want %s", i, off, got, tc.wantWaits[i])
				}
			}
		})
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), dbFile)
	st, err := openStore(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.migrate(); err != nil {
		t.Fatal(err)
	}
	version, err := readSchemaVersion(st.db)
	if err != nil || version != schemaVersion() {
		t.Fatalf("schema_version = %d, %v; want %d", version, err, schemaVersion())
	}
	// A database from a newer binary is refused, not silently used.
	err = st.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchemaVersion, binary.BigEndian.AppendUint64(nil, 99))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.close(); err != nil {
		t.Fatal(err)
	}
	st, err = openStore(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	if err := st.migrate(); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("migrating a version-99 database: %v, want a 'newer' error", err)
	}
}

// TestServerDIDs feeds the DIDs this registry assigns to the parser the
// provider and the client use (did.ParseServerDID): every one reads back to
// the public URL's host and the record's id, and a did:web resolver finds its
// document at the route this registry serves it on.
func TestServerDIDs(t *testing.T) {
	t.Parallel()
	const id = "550e8400-e29b-41d4-a716-446655440000"
	cases := map[string]struct {
		publicURL, wantDID, wantDocument string
	}{
		"port":         {"http://localhost:8080", "did:web:localhost%3A8080:servers:" + id, "http://localhost:8080/servers/" + id + "/did.json"},
		"no port":      {"https://registry.example.com", "did:web:registry.example.com:servers:" + id, "https://registry.example.com/servers/" + id + "/did.json"},
		"loopback any": {"http://127.0.0.1:41234/", "did:web:127.0.0.1%3A41234:servers:" + id, "http://127.0.0.1:41234/servers/" + id + "/did.json"},
		"ipv6":         {"http://[::1]:8080", "did:web:%5B%3A%3A1%5D%3A8080:servers:" + id, "https://[::1]:8080/servers/" + id + "/did.json"},
		"respelled":    {"HTTP://LocalHost:80", "did:web:localhost:servers:" + id, "http://localhost/servers/" + id + "/did.json"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, err := newServer(Config{DataDir: t.TempDir(), PublicURL: tc.publicURL})
			if err != nil {
				t.Fatal(err)
			}
			got := s.DID(id)
			if got != tc.wantDID {
				t.Errorf("DID = %q, want %q", got, tc.wantDID)
			}
			host, gotID, err := did.ParseServerDID(got)
			canonical, _ := protocol.ParseBaseURL(tc.publicURL)
			if u, _ := url.Parse(canonical); err != nil || host != u.Host || gotID != id {
				t.Errorf("ParseServerDID(%q) = %q, %q, %v; want the public URL's host and %s", got, host, gotID, err, id)
			}
			if doc, err := did.DocumentURL(got); err != nil || doc != tc.wantDocument {
				t.Errorf("DocumentURL(%q) = %q, %v; want %q", got, doc, err, tc.wantDocument)
			}
		})
	}
	t.Run("a path is refused", func(t *testing.T) {
		t.Parallel()
		_, err := newServer(Config{DataDir: t.TempDir(), PublicURL: "https://example.com/capiscio/"})
		if err == nil || !strings.Contains(err.Error(), "has a path") {
			t.Errorf("newServer with a path: %v, want a refusal naming the path", err)
		}
	})
}
