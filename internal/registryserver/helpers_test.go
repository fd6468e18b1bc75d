package registryserver_test

import (
	"crypto/ed25519"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver/registrytest"
)

// start runs a registry for one test and fails the test if any request got a
// 5xx reply or a handler panicked: bad input must always be a 4xx.
func start(t testing.TB, opts ...registrytest.Option) *registrytest.Registry {
	t.Helper()
	var mu sync.Mutex
	var serverErrors []string
	record := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sw := &statusRecorder{ResponseWriter: w}
			next.ServeHTTP(sw, r)
			if sw.status >= 500 {
				mu.Lock()
				serverErrors = append(serverErrors, r.Method+" "+r.URL.Path)
				mu.Unlock()
			}
		})
	}
	reg := registrytest.Start(t, append([]registrytest.Option{registrytest.WithMiddleware(record)}, opts...)...)
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if len(serverErrors) > 0 {
			t.Errorf("requests answered with 5xx: %v", serverErrors)
		}
		if p := reg.Server.Stats().Panics; p != 0 {
			t.Errorf("handler panics: %d, want 0", p)
		}
	})
	return reg
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// testKey is an Ed25519 key with the encodings the registry expects.
type testKey struct {
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
	pem  string
	did  string
}

func newKey(t testing.TB) testKey {
	t.Helper()
	m, err := keys.NewMaterial(nil)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{priv: m.Private, pub: m.Key, pem: m.PEM, did: m.DIDKey}
}

func (k testKey) createBody(name string) protocol.CreateServerRequest {
	return protocol.CreateServerRequest{Name: name, DID: k.did, PublicKey: k.pem}
}

func (k testKey) registerBody() protocol.RegisterKeyRequest {
	return protocol.RegisterKeyRequest{DID: k.did, PublicKey: k.pem}
}

// createServer creates a server with key for the key's organisation.
func createServer(t testing.TB, reg *registrytest.Registry, apiKey string, key testKey, name string) protocol.Server {
	t.Helper()
	resp, body := reg.DoWithKey(t, apiKey, http.MethodPost, protocol.PathServers, key.createBody(name))
	wantStatus(t, resp, body, http.StatusCreated)
	return decodeData[protocol.Server](t, body)
}

// issueBadge issues a badge for server id with the dev key.
func issueBadge(t testing.TB, reg *registrytest.Registry, id string, body any) protocol.Badge {
	t.Helper()
	resp, raw := reg.Do(t, http.MethodPost, pathOf(protocol.PathServerBadge, id), body)
	wantStatus(t, resp, raw, http.StatusCreated)
	return decodeData[protocol.Badge](t, raw)
}

// rotate registers key for server id and returns the updated server.
func rotate(t testing.TB, reg *registrytest.Registry, id string, key testKey) protocol.Server {
	t.Helper()
	resp, raw := reg.Do(t, http.MethodPut, pathOf(protocol.PathServer, id), key.registerBody())
	wantStatus(t, resp, raw, http.StatusOK)
	return decodeData[protocol.Server](t, raw)
}

// badgeStatus reads the public status of a badge.
func badgeStatus(t testing.TB, reg *registrytest.Registry, jti string) protocol.BadgeStatus {
	t.Helper()
	resp, raw := reg.DoWithKey(t, "", http.MethodGet, pathOf(protocol.PathBadgeStatus, jti), nil)
	wantStatus(t, resp, raw, http.StatusOK)
	return decode[protocol.BadgeStatus](t, raw)
}

// pathOf fills the {id} or {jti} placeholder of a route path.
// pathOf fills a route template without escaping, so tests can send
// values protocol.Path would escape.
func pathOf(pattern, value string) string {
	pattern = strings.Replace(pattern, "{id}", value, 1)
	return strings.Replace(pattern, "{jti}", value, 1)
}

func wantStatus(t testing.TB, resp *http.Response, body []byte, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d; body %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, want, body)
	}
}

func decode[T any](t testing.TB, raw []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decoding %T from %s: %v", v, raw, err)
	}
	return v
}

func decodeData[T any](t testing.TB, raw []byte) T {
	t.Helper()
	env := decode[protocol.Envelope[T]](t, raw)
	if !env.Success {
		t.Fatalf("success is false in %s", raw)
	}
	return env.Data
}

// send performs req and returns the response with its body read.
func send(t testing.TB, client *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, raw
}

// mustGet GETs a public path and returns the body of its 200 reply.
func mustGet(t testing.TB, reg *registrytest.Registry, path string) []byte {
	t.Helper()
	resp, raw := reg.DoWithKey(t, "", http.MethodGet, path, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	return raw
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}
