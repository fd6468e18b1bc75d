// Package registrytest runs the real local registry (internal/registryserver)
// in-process for tests: a loopback listener, a store in t.TempDir() and a
// development API key, all torn down by t.Cleanup. Faults are injected by
// wrapping the real handler (WithMiddleware), never by a hand-written fake.
package registrytest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver"
)

// Registry is a running in-process registry.
type Registry struct {
	// URL is the base URL, http://127.0.0.1:<port>, also the registry's
	// public URL (so did:web values name this host).
	URL string
	// APIKey is a key of the "dev" organisation.
	APIKey string
	// Server is the registry itself, for Stats, CreateAPIKey and the like.
	Server *registryserver.Server
	// HTTP is the underlying test server; HTTP.Client() talks to it.
	HTTP *httptest.Server

	secondOnce sync.Once
	secondKey  string
	secondErr  error
}

// Option changes how Start configures the registry.
type Option func(*options)

type options struct {
	middleware []func(http.Handler) http.Handler
	cfg        registryserver.Config
}

// WithMiddleware wraps the real handler, for fault injection (429s, 5xx,
// slow replies, dropped connections). Several wrap in order: the first given
// is the outermost.
func WithMiddleware(mw func(http.Handler) http.Handler) Option {
	return func(o *options) { o.middleware = append(o.middleware, mw) }
}

// WithBadgeTTL sets the lifetime of issued badges (60 s to 3600 s).
func WithBadgeTTL(ttl time.Duration) Option {
	return func(o *options) { o.cfg.BadgeTTL = ttl }
}

// WithRateLimit limits each API key to perMinute requests per minute.
func WithRateLimit(perMinute int) Option {
	return func(o *options) { o.cfg.RateLimitPerMinute = perMinute }
}

// WithPublicStats serves registryserver.PathStats without an API key.
func WithPublicStats() Option {
	return func(o *options) { o.cfg.PublicStats = true }
}

// WithNow sets the registry's clock.
func WithNow(now func() time.Time) Option {
	return func(o *options) { o.cfg.Now = now }
}

// Start runs a registry until the test ends. It fails the test if the
// registry cannot start.
func Start(t testing.TB, opts ...Option) *Registry {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	ts := httptest.NewUnstartedServer(nil)
	o.cfg.DataDir = t.TempDir()
	o.cfg.PublicURL = "http://" + ts.Listener.Addr().String()
	srv, err := registryserver.New(o.cfg)
	if err != nil {
		ts.Close()
		t.Fatalf("registrytest: starting the registry: %v", err)
	}
	ts.Config.Handler = wrap(srv.Handler(), o.middleware)
	ts.Config.ConnState = srv.ConnState
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("registrytest: closing the registry: %v", err)
		}
	})
	return &Registry{URL: ts.URL, APIKey: srv.DevAPIKey(), Server: srv, HTTP: ts}
}

func wrap(h http.Handler, middleware []func(http.Handler) http.Handler) http.Handler {
	for i := len(middleware) - 1; i >= 0; i-- {
		h = middleware[i](h)
	}
	return h
}

// Do sends one request with the dev API key and returns the response (its
// body already read and closed) and the body. body may be nil (no body), a
// []byte or string (sent as is), or any value (sent as JSON).
func (r *Registry) Do(t testing.TB, method, path string, body any) (*http.Response, []byte) {
	t.Helper()
	return r.DoWithKey(t, r.APIKey, method, path, body)
}

// DoWithKey is Do with another API key; "" sends none.
func (r *Registry) DoWithKey(t testing.TB, apiKey, method, path string, body any) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, r.URL+path, encodeBody(t, body))
	if err != nil {
		t.Fatalf("registrytest: building %s %s: %v", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if apiKey != "" {
		req.Header.Set(protocol.HeaderAPIKey, apiKey)
	}
	resp, err := r.HTTP.Client().Do(req)
	if err != nil {
		t.Fatalf("registrytest: %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("registrytest: reading the reply of %s %s: %v", method, path, err)
	}
	return resp, raw
}

func encodeBody(t testing.TB, body any) io.Reader {
	t.Helper()
	switch b := body.(type) {
	case nil:
		return nil
	case []byte:
		return bytes.NewReader(b)
	case string:
		return bytes.NewReader([]byte(b))
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("registrytest: encoding the request body: %v", err)
		}
		return bytes.NewReader(raw)
	}
}

// SecondOrgKey returns an API key of a second organisation, "other", for
// tenancy tests. Every call on the same Registry returns the same key.
func (r *Registry) SecondOrgKey(t testing.TB) string {
	t.Helper()
	r.secondOnce.Do(func() { r.secondKey, r.secondErr = r.Server.CreateAPIKey("other") })
	if r.secondErr != nil {
		t.Fatalf("registrytest: creating a second organisation's key: %v", r.secondErr)
	}
	return r.secondKey
}
