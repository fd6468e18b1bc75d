package registryserver

import (
	"encoding/binary"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/capiscio/terraform-provider-capiscio/internal/registry"
	bolt "go.etcd.io/bbolt"
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

	var body registry.ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusInternalServerError || body.Error != registry.CodeInternal || body.Success {
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

func TestDIDWebPrefix(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		publicURL string
		want      string
	}{
		"port":         {publicURL: "http://localhost:8080", want: "did:web:localhost%3A8080:servers:"},
		"no port":      {publicURL: "https://registry.example.com", want: "did:web:registry.example.com:servers:"},
		"path prefix":  {publicURL: "https://example.com/capiscio/", want: "did:web:example.com:capiscio:servers:"},
		"loopback any": {publicURL: "http://127.0.0.1:41234", want: "did:web:127.0.0.1%3A41234:servers:"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			u, err := parsePublicURL(tc.publicURL)
			if err != nil {
				t.Fatal(err)
			}
			if got := didWebPrefix(u); got != tc.want {
				t.Errorf("didWebPrefix(%s) = %q, want %q", tc.publicURL, got, tc.want)
			}
		})
	}
}
