package registryserver_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver"
)

func TestNew_InvalidConfig(t *testing.T) {
	t.Parallel()
	valid := func() registryserver.Config {
		return registryserver.Config{DataDir: t.TempDir(), PublicURL: "http://localhost:8080"}
	}
	cases := map[string]struct {
		change  func(*registryserver.Config)
		wantErr string
	}{
		"no data dir":           {change: func(c *registryserver.Config) { c.DataDir = "" }, wantErr: "DataDir"},
		"no public URL":         {change: func(c *registryserver.Config) { c.PublicURL = "" }, wantErr: "public URL"},
		"public URL no scheme":  {change: func(c *registryserver.Config) { c.PublicURL = "localhost:8080" }, wantErr: "public URL"},
		"public URL with query": {change: func(c *registryserver.Config) { c.PublicURL = "http://h/?a=b" }, wantErr: "query"},
		"issuer with path":      {change: func(c *registryserver.Config) { c.Issuer = "https://h/path" }, wantErr: "origin"},
		"issuer not a URL":      {change: func(c *registryserver.Config) { c.Issuer = "did:web:h" }, wantErr: "origin"},
		"TTL below 60 s":        {change: func(c *registryserver.Config) { c.BadgeTTL = 59 * time.Second }, wantErr: "TTL"},
		"TTL above 3600 s":      {change: func(c *registryserver.Config) { c.BadgeTTL = 3601 * time.Second }, wantErr: "TTL"},
		"TTL not whole seconds": {change: func(c *registryserver.Config) { c.BadgeTTL = 90*time.Second + time.Millisecond }, wantErr: "TTL"},
		"negative rate limit":   {change: func(c *registryserver.Config) { c.RateLimitPerMinute = -1 }, wantErr: "rate limit"},
		"short dev key":         {change: func(c *registryserver.Config) { c.DevAPIKey = "short" }, wantErr: "development API key"},
		"dev key with space":    {change: func(c *registryserver.Config) { c.DevAPIKey = "sk_test_with a space-0123456789abcdef" }, wantErr: "development API key"},
		"dev key of 21 chars":   {change: func(c *registryserver.Config) { c.DevAPIKey = "sk_test_0123456789abcdefghijk" }, wantErr: "openssl rand"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := valid()
			tc.change(&cfg)
			s, err := registryserver.New(cfg)
			if err == nil {
				_ = s.Close()
				t.Fatalf("New succeeded, want an error mentioning %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not mention %q", err, tc.wantErr)
			}
		})
	}
}

func TestValidDevAPIKey(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		key     string
		wantErr string // "" for a valid key
	}{
		"minted form (43 chars)":     {key: "sk_test_" + strings.Repeat("A", 43)},
		"22 chars after sk_test_":    {key: "sk_test_" + strings.Repeat("a", 22)},
		"22 chars after sk_live_":    {key: "sk_live_" + strings.Repeat("Z9", 11)},
		"22 chars, no prefix":        {key: "abcdefghijklmnopqrstu_"},
		"hex of 32 bytes":            {key: "sk_test_" + strings.Repeat("0f", 32)},
		"248 chars":                  {key: "sk_test_" + strings.Repeat("-", 248)},
		"21 chars after sk_test_":    {key: "sk_test_" + strings.Repeat("a", 21), wantErr: "has 21 characters after its prefix, fewer than 22"},
		"prefix does not count":      {key: "sk_test_abcdefghijklmn", wantErr: "has 14 characters"},
		"21 chars, no prefix":        {key: strings.Repeat("a", 21), wantErr: "fewer than 22"},
		"249 chars":                  {key: "sk_test_" + strings.Repeat("a", 249), wantErr: "more than 248"},
		"standard base64 characters": {key: "sk_test_" + strings.Repeat("a", 20) + "+/", wantErr: "other than A-Z"},
		"padding":                    {key: "sk_test_" + strings.Repeat("a", 22) + "=", wantErr: "other than A-Z"},
		"space":                      {key: "sk_test_" + strings.Repeat("a", 11) + " " + strings.Repeat("a", 11), wantErr: "other than A-Z"},
		"non-ASCII":                  {key: "sk_test_" + strings.Repeat("é", 22), wantErr: "other than A-Z"},
		"empty":                      {key: "", wantErr: "has 0 characters"},
		"other prefixes count":       {key: "sk_prod_" + strings.Repeat("a", 13), wantErr: "has 21 characters"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := registryserver.ValidDevAPIKey(tc.key)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("ValidDevAPIKey: %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("ValidDevAPIKey: %v, want an error containing %q", err, tc.wantErr)
			case err != nil && tc.key != "" && strings.Contains(err.Error(), tc.key):
				t.Errorf("the error quotes the key: %v", err)
			case err != nil && !strings.Contains(err.Error(), "openssl rand -hex 32"):
				t.Errorf("the error does not say how to make a key: %v", err)
			}
		})
	}
}

func TestNew_Issuer(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		publicURL, issuer, want string
	}{
		"origin of the public URL": {publicURL: "http://localhost:8080/", want: "http://localhost:8080"},
		"origin is canonical":      {publicURL: "HTTPS://Example.com:443/", want: "https://example.com"},
		"explicit":                 {publicURL: "http://127.0.0.1:9", issuer: "https://registry.example.com/", want: "https://registry.example.com"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, err := registryserver.New(registryserver.Config{DataDir: t.TempDir(), PublicURL: tc.publicURL, Issuer: tc.issuer})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got := s.Issuer(); got != tc.want {
				t.Errorf("Issuer() = %q, want %q", got, tc.want)
			}
		})
	}
}

// serve runs s on a loopback listener until the test ends.
func serve(t *testing.T, s *registryserver.Server) *httptest.Server {
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts
}

func TestRestart_KeepsRecordsCAAndKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := registryserver.Config{DataDir: dir, PublicURL: "http://localhost:8080"}

	first, err := registryserver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	devKey := first.DevAPIKey()
	if !strings.HasPrefix(devKey, "sk_test_") || len(devKey) != len("sk_test_")+43 {
		t.Fatalf("dev key %q, want sk_test_ + 43 base64url characters", devKey)
	}
	otherKey, err := first.CreateAPIKey("acme")
	if err != nil {
		t.Fatal(err)
	}
	ts := serve(t, first)
	key := newKey(t)
	srv := postJSON[protocol.Server](t, ts.URL+protocol.PathServers, devKey, key.createBody("kept"), http.StatusCreated)
	type jwk struct{ Kty, Crv, Alg, Use, Kid, X string }
	type jwkSet struct{ Keys []jwk }
	jwks := getJSON[jwkSet](t, ts.URL+protocol.PathJWKS)
	ts.Close()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	second, err := registryserver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if got := second.DevAPIKey(); got != "" {
		t.Errorf("DevAPIKey() after restart = %q, want empty (only the hash is stored)", got)
	}
	ts = serve(t, second)
	if got := getJSON[jwkSet](t, ts.URL+protocol.PathJWKS); got.Keys[0] != jwks.Keys[0] {
		t.Errorf("CA key changed across restart: %+v -> %+v", jwks.Keys[0], got.Keys[0])
	}
	got := getWithKey[protocol.Server](t, ts.URL+pathOf(protocol.PathServer, srv.ID), devKey, http.StatusOK)
	if got != srv {
		t.Errorf("server after restart = %+v, want %+v", got, srv)
	}
	getWithKey[protocol.Server](t, ts.URL+pathOf(protocol.PathServer, srv.ID), otherKey, http.StatusNotFound)
}

func TestDevAPIKey_FixedIsIdempotent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const fixed = "sk_test_fixed-for-ci-0123456789"
	for run := range 3 {
		s, err := registryserver.New(registryserver.Config{DataDir: dir, PublicURL: "http://localhost:8080", DevAPIKey: fixed})
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if got := s.DevAPIKey(); got != fixed {
			t.Errorf("run %d: DevAPIKey() = %q, want the fixed key", run, got)
		}
		ts := httptest.NewServer(s.Handler())
		getWithKey[[]protocol.Server](t, ts.URL+protocol.PathServers, fixed, http.StatusOK)
		ts.Close()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// A fixed key means no random one is minted later either.
	s, err := registryserver.New(registryserver.Config{DataDir: dir, PublicURL: "http://localhost:8080"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.DevAPIKey(); got != "" {
		t.Errorf("DevAPIKey() = %q, want none minted after a fixed key was used", got)
	}
}

func TestCreateAPIKey_InvalidOrg(t *testing.T) {
	t.Parallel()
	reg := start(t)
	for _, org := range []string{"", "has space", "-leading", strings.Repeat("a", 65), "nul\x00"} {
		if _, err := reg.Server.CreateAPIKey(org); err == nil {
			t.Errorf("CreateAPIKey(%q) succeeded, want an error", org)
		}
	}
}

func TestCAKeyFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := registryserver.New(registryserver.Config{DataDir: dir, PublicURL: "http://localhost:8080"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ca.jwk")
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("ca.jwk mode = %v, want 0600", info.Mode().Perm())
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".ca.jwk.tmp-*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}

	// A damaged CA key stops the registry instead of being replaced.
	if err := os.WriteFile(path, []byte(`{"kty":"OKP"`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := registryserver.New(registryserver.Config{DataDir: dir, PublicURL: "http://localhost:8080"}); err == nil || !strings.Contains(err.Error(), "CA key") {
		t.Errorf("New with a damaged CA key: %v, want a CA key error", err)
	}
	if raw, _ := os.ReadFile(path); string(raw) != `{"kty":"OKP"` {
		t.Errorf("the damaged CA key was overwritten")
	}
}

func TestAddAPIKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key, err := registryserver.AddAPIKey(dir, "acme")
	if err != nil {
		t.Fatal(err)
	}
	s, err := registryserver.New(registryserver.Config{DataDir: dir, PublicURL: "http://localhost:8080"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ts := serve(t, s)
	getWithKey[[]protocol.Server](t, ts.URL+protocol.PathServers, key, http.StatusOK)

	// While a registry holds the database, keys cannot be added offline.
	if _, err := registryserver.AddAPIKey(dir, "late"); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Errorf("AddAPIKey on a running registry: %v, want a 'locked' error", err)
	}
}

// TestLogging_NoSecrets checks the request log: one line per request with
// method, path, status, duration and org, and never an API key, PEM or badge.
func TestLogging_NoSecrets(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&lockedWriter{mu: &mu, w: &buf}, nil))
	s, err := registryserver.New(registryserver.Config{DataDir: t.TempDir(), PublicURL: "http://localhost:8080", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ts := serve(t, s)
	key := newKey(t)
	srv := postJSON[protocol.Server](t, ts.URL+protocol.PathServers, s.DevAPIKey(), key.createBody("logged"), http.StatusCreated)
	badge := postJSON[protocol.Badge](t, ts.URL+pathOf(protocol.PathServerBadge, srv.ID), s.DevAPIKey(), nil, http.StatusCreated)
	getWithKey[protocol.Server](t, ts.URL+protocol.PathServers, "sk_test_wrong-key-0000000000", http.StatusUnauthorized)

	mu.Lock()
	log := buf.String()
	mu.Unlock()
	for _, want := range []string{
		"method=POST path=/v1/sdk/servers status=201",
		"path=/v1/sdk/servers/" + srv.ID + "/badge status=201",
		"org=dev",
		"status=401",
		"duration=",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	for name, secret := range map[string]string{
		"API key": s.DevAPIKey(), "wrong API key": "sk_test_wrong-key-0000000000",
		"PEM": "BEGIN PUBLIC KEY", "badge": badge.Badge[:40],
	} {
		if strings.Contains(log, secret) {
			t.Errorf("the log contains the %s", name)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// ---- plain HTTP helpers for tests that run New directly ----

func postJSON[T any](t *testing.T, url, apiKey string, body any, want int) T {
	t.Helper()
	rd := strings.NewReader("")
	if body != nil {
		rd = strings.NewReader(mustJSON(t, body))
	}
	req, err := http.NewRequest(http.MethodPost, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(protocol.HeaderAPIKey, apiKey)
	resp, raw := send(t, http.DefaultClient, req)
	wantStatus(t, resp, raw, want)
	return decodeData[T](t, raw)
}

func getWithKey[T any](t *testing.T, url, apiKey string, want int) T {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(protocol.HeaderAPIKey, apiKey)
	resp, raw := send(t, http.DefaultClient, req)
	wantStatus(t, resp, raw, want)
	if want != http.StatusOK {
		var zero T
		return zero
	}
	return decodeData[T](t, raw)
}

func getJSON[T any](t *testing.T, url string) T {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, raw := send(t, http.DefaultClient, req)
	wantStatus(t, resp, raw, http.StatusOK)
	return decode[T](t, raw)
}
