package registryserver_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver"
)

const fuzzDevKey = "sk_test_fuzz-0123456789abcdefghijkl"

// fuzzRegistry is one in-process registry shared by every input of a fuzz
// target (f.Fuzz runs its inputs in this process), with one server and one
// badge that the inputs address.
type fuzzRegistry struct {
	srv *registryserver.Server
	id  string // an existing server
	jti string // an existing badge of that server
}

func newFuzzRegistry(f *testing.F) *fuzzRegistry {
	f.Helper()
	srv, err := registryserver.New(registryserver.Config{
		DataDir:   fuzzDataDir(f),
		PublicURL: "http://127.0.0.1:8080",
		DevAPIKey: fuzzDevKey,
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = srv.Close() })
	fr := &fuzzRegistry{srv: srv}
	m := fuzzMaterial(f)
	body, _ := json.Marshal(protocol.CreateServerRequest{Name: "fuzz", DID: m.DIDKey, PublicKey: m.PEM})
	status, raw := fr.send(http.MethodPost, protocol.PathServers, body, "")
	var created protocol.Envelope[protocol.Server]
	if status != http.StatusCreated || json.Unmarshal(raw, &created) != nil {
		f.Fatalf("create: %d %s", status, raw)
	}
	fr.id = created.Data.ID
	status, raw = fr.send(http.MethodPost, protocol.Path(protocol.PathServerBadge, fr.id), nil, "")
	var badge protocol.Envelope[protocol.Badge]
	if status != http.StatusCreated || json.Unmarshal(raw, &badge) != nil {
		f.Fatalf("badge: %d %s", status, raw)
	}
	fr.jti = badge.Data.JTI
	return fr
}

// fuzzDataDir is a data directory on tmpfs (/dev/shm) when there is one,
// else f.TempDir(). Every write is fsynced before it is acknowledged; on a
// disk that costs about 20 ms, which held the fuzzer to about 10 inputs a
// second and stalled its minimizer for tens of seconds.
func fuzzDataDir(f *testing.F) string {
	if info, err := os.Stat("/dev/shm"); err == nil && info.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "capiscio-fuzz-"); err == nil {
			f.Cleanup(func() { _ = os.RemoveAll(dir) })
			return dir
		}
	}
	return f.TempDir()
}

func fuzzMaterial(tb testing.TB) keys.Material {
	tb.Helper()
	m, err := keys.NewMaterial(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// send runs one request through the real handler chain with the dev key.
func (fr *fuzzRegistry) send(method, target string, body []byte, idemKey string) (int, []byte) {
	req := httptest.NewRequest(method, "http://127.0.0.1:8080/", bytes.NewReader(body))
	req.URL = &url.URL{Path: target}
	req.RequestURI = target
	return fr.do(req, idemKey)
}

func (fr *fuzzRegistry) do(req *http.Request, idemKey string) (int, []byte) {
	req.Header.Set(protocol.HeaderAPIKey, fuzzDevKey)
	req.Header.Set("Content-Type", "application/json")
	if idemKey != "" {
		req.Header[protocol.HeaderIdempotencyKey] = []string{idemKey}
	}
	rec := httptest.NewRecorder()
	fr.srv.Handler().ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// check fails t on a 5xx, on a 4xx without the JSON error shape, and on a
// handler panic.
func (fr *fuzzRegistry) check(t *testing.T, what string, status int, body []byte) {
	t.Helper()
	if status >= 500 {
		t.Fatalf("%s: status %d, want < 500: %s", what, status, body)
	}
	if status >= 400 {
		var e protocol.ErrorBody
		if err := json.Unmarshal(body, &e); err != nil || e.Success || e.Error == "" || e.Message == "" {
			t.Fatalf("%s: status %d without the JSON error shape (err %v): %q", what, status, err, body)
		}
	}
	if p := fr.srv.Stats().Panics; p != 0 {
		t.Fatalf("%s: handler panics = %d, want 0", what, p)
	}
}

// FuzzRequestDecoding sends each input as the body of every route that reads
// a body: create, PUT (key registration), badge and revoke.
func FuzzRequestDecoding(f *testing.F) {
	fr := newFuzzRegistry(f)
	m := fuzzMaterial(f)
	valid := func(v any) []byte { b, _ := json.Marshal(v); return b }
	seeds := [][]byte{
		valid(protocol.CreateServerRequest{Name: "seed", DID: m.DIDKey, PublicKey: m.PEM}),
		valid(protocol.RegisterKeyRequest{DID: m.DIDKey, PublicKey: m.PEM}),
		valid(protocol.RegisterKeyRequest{DID: m.DIDKey, PublicKey: m.PEM, Name: "renamed"}),
		valid(protocol.BadgeRequest{Domain: "localhost:8080"}),
		valid(protocol.RevokeRequest{Reason: "compromised"}),
		[]byte(`{}`), []byte(``), []byte(`   `), []byte(`null`), []byte(`[]`), []byte(`"x"`), []byte(`1`),
		[]byte(`{"name":1}`), []byte(`{"did":null,"publicKey":null}`), []byte(`{} {}`), []byte(`{"a":`),
		[]byte(`{"publicKey":"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n","did":"did:key:z6Mk"}`),
		[]byte(`{"domain":"EXAMPLE.com:99999"}`), []byte(`{"domain":"` + strings.Repeat("a", 254) + `"}`),
		[]byte(`{"reason":"\u0000"}`), []byte(`{"reason":"` + strings.Repeat("é", 201) + `"}`),
		[]byte(`{"name":"\ud800"}`), []byte("{\"name\":\"\xff\"}"), []byte(`{"name":"a","name":2}`),
		[]byte(strings.Repeat("[", 100)), []byte(`{"domain":1e999}`),
	}
	for i, s := range seeds {
		key := ""
		if i%3 == 0 {
			key = "idem-seed"
		}
		f.Add(s, key)
	}
	f.Add([]byte(`{}`), strings.Repeat("k", 256))
	f.Add([]byte(`{}`), "bad\x00key")

	f.Fuzz(func(t *testing.T, body []byte, idemKey string) {
		targets := []struct{ method, path, key string }{
			{http.MethodPost, protocol.PathServers, idemKey},
			{http.MethodPut, protocol.Path(protocol.PathServer, fr.id), ""},
			{http.MethodPost, protocol.Path(protocol.PathServerBadge, fr.id), ""},
			{http.MethodPost, protocol.Path(protocol.PathBadgeRevoke, fr.jti), ""},
		}
		for _, tg := range targets {
			status, reply := fr.send(tg.method, tg.path, body, tg.key)
			fr.check(t, tg.method+" "+tg.path, status, reply)
		}
	})
}

// FuzzRequestPaths fuzzes the path wildcards (server ids, badge jtis) and the
// query parameters (cursor, limit, since) of the read routes and of the
// body-less write routes.
func FuzzRequestPaths(f *testing.F) {
	fr := newFuzzRegistry(f)
	f.Add(fr.id, fr.jti, "", "", "")
	f.Add(fr.id, fr.jti, "AAAAAAAAAAE", "1", "2026-01-01T00:00:00Z")
	f.Add(strings.ToUpper(fr.id), "not-a-uuid", "!!", "0", "yesterday")
	f.Add("..", "%2e%2e", "AAAAAAAAAAAAAAAAAAAA", "1001", "")
	f.Add("a/b", "x%00y", "____________", "-1", "9999-99-99")
	f.Add("", "", "AAAAAAAAAAA=", "99999999999999999999", "\x00")
	f.Add("\x00", "\xff", "/", " 5", "2026-01-01T00:00:00+25:00")

	f.Fuzz(func(t *testing.T, id, jti, cursor, limit, since string) {
		q := url.Values{}
		q.Set("cursor", cursor)
		q.Set("limit", limit)
		q.Set("since", since)
		query := q.Encode()
		sub := func(pattern, name, value string) string { return strings.Replace(pattern, "{"+name+"}", value, 1) }
		targets := []struct{ method, path, rawQuery string }{
			{http.MethodGet, protocol.PathServers, query},
			{http.MethodGet, protocol.PathServers, cursor + "&" + limit}, // a raw, unencoded query
			{http.MethodGet, sub(protocol.PathServer, "id", id), query},
			{http.MethodGet, sub(protocol.PathServerStatus, "id", id), ""},
			{http.MethodGet, sub(protocol.PathDIDDocument, "id", id), ""},
			{http.MethodGet, sub(protocol.PathBadgeStatus, "jti", jti), ""},
			{http.MethodGet, sub(protocol.PathServerBadgeStat, "jti", jti), ""},
			{http.MethodGet, protocol.PathRevocations, query},
			{http.MethodPost, sub(protocol.PathServerBadge, "id", id), ""},
			{http.MethodPost, sub(protocol.PathServerEnable, "id", id), ""},
			{http.MethodPost, sub(protocol.PathBadgeRevoke, "jti", jti), ""},
			{http.MethodDelete, sub(protocol.PathServer, "id", id+"x"), ""}, // never the seeded server
		}
		for _, tg := range targets {
			req := httptest.NewRequest(tg.method, "http://127.0.0.1:8080/", nil)
			req.URL = &url.URL{Path: tg.path, RawQuery: tg.rawQuery}
			req.RequestURI = req.URL.RequestURI()
			status, reply := fr.do(req, "")
			fr.check(t, tg.method+" "+req.URL.String(), status, reply)
		}
	})
}
