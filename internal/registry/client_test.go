package registry

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// ---- fixtures ----

const (
	testAPIKey    = "sk_test_4e0a1b2c3d4e5f60718293a4b5c6d7e8"
	testUserAgent = "terraform-provider-capiscio/test"
	testServerID  = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
	testDIDWeb    = "did:web:localhost%3A8080:servers:6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
	testDIDKey    = "did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw"
	testPEMBody   = "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
	testPEM       = "-----BEGIN PUBLIC KEY-----\n" + testPEMBody + "\n-----END PUBLIC KEY-----\n"
	testJTI       = "0b6a3f2e-1c4d-4e5f-9a8b-7c6d5e4f3a2b"
)

var (
	testCreated    = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	testUpdated    = time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	testKeyUpdated = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	testExpires    = time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
)

// wantServer is the server every canned server reply describes.
func wantServer() *protocol.Server {
	return &protocol.Server{
		ID: testServerID, Name: "billing-mcp", DID: testDIDWeb, DIDKey: testDIDKey,
		PublicKey: testPEM, Status: protocol.StatusActive, Domain: "mcp.example.com", TrustLevel: "1",
		CreatedAt: testCreated, UpdatedAt: testUpdated, KeyUpdatedAt: testKeyUpdated,
	}
}

// serverCamel is the server object as the local registry sends it.
func serverCamel() map[string]any {
	return map[string]any{
		"id": testServerID, "name": "billing-mcp", "did": testDIDWeb, "didKey": testDIDKey,
		"publicKey": testPEM, "status": "active", "domain": "mcp.example.com", "trustLevel": "1",
		"createdAt": "2026-01-02T03:04:05Z", "updatedAt": "2026-02-03T04:05:06Z",
		"keyUpdatedAt": "2026-03-04T05:06:07Z", "unknownField": map[string]any{"x": 1},
	}
}

// serverSnake is the same server in the agent API's snake_case style, with a
// numeric trust level and unix-second timestamps.
func serverSnake() map[string]any {
	return map[string]any{
		"id": testServerID, "name": "billing-mcp", "did": testDIDWeb, "did_key": testDIDKey,
		"public_key": testPEM, "status": "active", "domain": "mcp.example.com", "trust_level": 1,
		"created_at": testCreated.Unix(), "updated_at": testUpdated.Unix(),
		"key_updated_at": testKeyUpdated.Unix(), "org_id": "org-1",
	}
}

func envelope(data any) map[string]any { return map[string]any{"success": true, "data": data} }

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// testJWS builds an unsigned-looking compact JWS with the given claims; the
// client never verifies badges, it only reads their claims.
func testJWS(t testing.TB, claims map[string]any) string {
	t.Helper()
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"EdDSA","typ":"JWT","kid":"capiscio-ca-1"}`))
	return h + "." + base64.RawURLEncoding.EncodeToString([]byte(mustJSON(t, claims))) + ".c2lnbmF0dXJlLW5vdC1jaGVja2Vk"
}

func testBadgeClaims() map[string]any {
	return map[string]any{
		"jti": testJTI, "iss": "https://registry.example.com", "sub": testDIDWeb,
		"iat": testExpires.Add(-5 * time.Minute).Unix(), "exp": testExpires.Unix(), "ial": "0",
		"vc": map[string]any{
			"type":              []string{"VerifiableCredential", "AgentIdentity"},
			"credentialSubject": map[string]any{"level": "1"},
		},
	}
}

// ---- fake registry ----

// seen is what a handler saw of one request.
type seen struct {
	Method         string
	Path           string
	Query          string
	APIKey         string
	HasAPIKey      bool
	Authorization  string
	UserAgent      string
	IdempotencyKey string
	ContentType    string
	Body           any
}

// fakeRegistry is an httptest server with a canned handler. It counts calls
// with sync/atomic and records what each request carried.
type fakeRegistry struct {
	*httptest.Server
	calls atomic.Int32
	mu    sync.Mutex
	reqs  []seen
}

// newFake starts a fake whose handler gets the 1-based call number.
func newFake(t *testing.T, h func(w http.ResponseWriter, r *http.Request, n int)) *fakeRegistry {
	t.Helper()
	f := &fakeRegistry{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(f.calls.Add(1))
		s := seen{
			Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery,
			APIKey: r.Header.Get(protocol.HeaderAPIKey), Authorization: r.Header.Get("Authorization"),
			UserAgent: r.Header.Get("User-Agent"), IdempotencyKey: r.Header.Get(protocol.HeaderIdempotencyKey),
			ContentType: r.Header.Get("Content-Type"),
		}
		_, s.HasAPIKey = r.Header[http.CanonicalHeaderKey(protocol.HeaderAPIKey)]
		if b, _ := io.ReadAll(r.Body); len(b) > 0 {
			if err := json.Unmarshal(b, &s.Body); err != nil {
				s.Body = "invalid JSON: " + string(b)
			}
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, s)
		f.mu.Unlock()
		h(w, r, n)
	}))
	t.Cleanup(f.Close)
	return f
}

// replyWith returns a handler that always sends status and body.
func replyWith(status int, body string) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func (f *fakeRegistry) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

// newTestClient returns a client for url with tiny backoffs; mutate may
// change the config first.
func newTestClient(t *testing.T, url string, mutate func(*Config)) *Client {
	t.Helper()
	cfg := Config{
		BaseURL: url + "/", APIKey: testAPIKey, UserAgent: testUserAgent,
		MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, RequestTimeout: 5 * time.Second,
		MaxRetries: 3,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// ---- New ----

func TestNew_BaseURL(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in      string
		want    string
		wantErr string
	}{
		"https":                 {in: "https://registry.capisc.io", want: "https://registry.capisc.io"},
		"trailing slash":        {in: "https://registry.capisc.io/", want: "https://registry.capisc.io"},
		"path prefix":           {in: "https://example.com/capiscio/", want: "https://example.com/capiscio"},
		"http loopback name":    {in: "http://localhost:8080", want: "http://localhost:8080"},
		"http loopback v4":      {in: "http://127.0.0.1:9/", want: "http://127.0.0.1:9"},
		"http loopback v6":      {in: "http://[::1]:8080", want: "http://[::1]:8080"},
		"empty":                 {in: "", wantErr: "empty"},
		"relative":              {in: "registry.capisc.io", wantErr: "https://"},
		"no host":               {in: "https:///v1", wantErr: "no host"},
		"ftp":                   {in: "ftp://registry.capisc.io", wantErr: "https://"},
		"query":                 {in: "https://registry.capisc.io/?x=1", wantErr: "query"},
		"empty query":           {in: "https://registry.capisc.io/?", wantErr: "query"},
		"fragment":              {in: "https://registry.capisc.io/#frag", wantErr: "fragment"},
		"user info":             {in: "https://user:pw@registry.capisc.io", wantErr: "user info"},
		"plain http public":     {in: "http://registry.capisc.io", wantErr: "loopback"},
		"plain http private ip": {in: "http://10.0.0.5:8080", wantErr: "loopback"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, err := New(Config{BaseURL: tc.in})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("New(%q) error = %v, want one containing %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("New(%q): %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, c.BaseURL()); diff != "" {
				t.Errorf("BaseURL() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNew_Config(t *testing.T) {
	t.Parallel()
	type got struct {
		MaxRetries             int
		MinBackoff, MaxBackoff time.Duration
		Timeout                time.Duration
		UserAgent              string
	}
	tests := map[string]struct {
		cfg     Config
		want    got
		wantErr string
	}{
		"defaults": {
			cfg:  Config{MaxRetries: -1},
			want: got{MaxRetries: 4, MinBackoff: 500 * time.Millisecond, MaxBackoff: 30 * time.Second, Timeout: 30 * time.Second, UserAgent: DefaultUserAgent},
		},
		"zero retries means none": {
			cfg:  Config{MaxRetries: 0},
			want: got{MaxRetries: 0, MinBackoff: 500 * time.Millisecond, MaxBackoff: 30 * time.Second, Timeout: 30 * time.Second, UserAgent: DefaultUserAgent},
		},
		"explicit": {
			cfg:  Config{MaxRetries: 7, MinBackoff: time.Second, MaxBackoff: time.Minute, RequestTimeout: 5 * time.Second, UserAgent: "x/1"},
			want: got{MaxRetries: 7, MinBackoff: time.Second, MaxBackoff: time.Minute, Timeout: 5 * time.Second, UserAgent: "x/1"},
		},
		"min above default max": {
			cfg:  Config{MinBackoff: time.Minute},
			want: got{MinBackoff: time.Minute, MaxBackoff: time.Minute, Timeout: 30 * time.Second, UserAgent: DefaultUserAgent},
		},
		"min above max":    {cfg: Config{MinBackoff: 2 * time.Second, MaxBackoff: time.Second}, wantErr: "longer than maximum"},
		"negative timeout": {cfg: Config{RequestTimeout: -time.Second}, wantErr: "negative"},
		"negative backoff": {cfg: Config{MinBackoff: -time.Second}, wantErr: "negative"},
		"key with newline": {cfg: Config{APIKey: "abc\r\nX-Evil: 1"}, wantErr: "line break"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tc.cfg.BaseURL = "https://registry.example.com"
			c, err := New(tc.cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("New error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			g := got{c.maxRetries, c.minBackoff, c.maxBackoff, c.httpClient.Timeout, c.userAgent}
			if diff := cmp.Diff(tc.want, g); diff != "" {
				t.Errorf("config mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNew_DoesNotMutateHTTPClient(t *testing.T) {
	t.Parallel()
	base := &http.Client{Transport: http.DefaultTransport}
	c, err := New(Config{BaseURL: "https://registry.example.com", HTTPClient: base, RequestTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if base.Timeout != 0 || base.CheckRedirect != nil {
		t.Errorf("base client was mutated: timeout %s, CheckRedirect set %t", base.Timeout, base.CheckRedirect != nil)
	}
	if c.httpClient == base || c.httpClient.Transport != http.DefaultTransport {
		t.Errorf("client must be a clone sharing the base transport")
	}
}

// ---- requests ----

func TestClient_Requests(t *testing.T) {
	t.Parallel()
	serverReply := mustJSON(t, envelope(serverCamel()))
	badgeReply := mustJSON(t, envelope(map[string]any{"badge": testJWS(t, testBadgeClaims()), "jti": testJTI}))
	base := seen{APIKey: testAPIKey, HasAPIKey: true, UserAgent: testUserAgent}
	withBody := func(s seen, body any) seen {
		s.ContentType = "application/json"
		s.Body = body
		return s
	}
	at := func(s seen, method, path string) seen {
		s.Method, s.Path = method, path
		return s
	}
	public := seen{UserAgent: testUserAgent}

	tests := map[string]struct {
		call  func(context.Context, *Client) error
		reply string
		want  seen
	}{
		"CreateServer with idempotency key": {
			call: func(ctx context.Context, c *Client) error {
				_, err := c.CreateServer(ctx, protocol.CreateServerRequest{Name: "billing-mcp", DID: testDIDKey, PublicKey: testPEM}, "idem-1")
				return err
			},
			reply: serverReply,
			want: func() seen {
				s := withBody(at(base, "POST", "/v1/sdk/servers"), map[string]any{"name": "billing-mcp", "did": testDIDKey, "publicKey": testPEM})
				s.IdempotencyKey = "idem-1"
				return s
			}(),
		},
		"CreateServer without idempotency key": {
			call: func(ctx context.Context, c *Client) error {
				_, err := c.CreateServer(ctx, protocol.CreateServerRequest{Name: "n", DID: testDIDKey, PublicKey: testPEM}, "")
				return err
			},
			reply: serverReply,
			want:  withBody(at(base, "POST", "/v1/sdk/servers"), map[string]any{"name": "n", "did": testDIDKey, "publicKey": testPEM}),
		},
		"GetServer": {
			call: func(ctx context.Context, c *Client) error {
				_, err := c.GetServer(ctx, testServerID)
				return err
			},
			reply: serverReply,
			want:  at(base, "GET", "/v1/sdk/servers/"+testServerID),
		},
		"GetServer escapes the id": {
			call: func(ctx context.Context, c *Client) error {
				_, err := c.GetServer(ctx, "a/b c?d")
				return err
			},
			reply: serverReply,
			want:  at(base, "GET", "/v1/sdk/servers/a%2Fb%20c%3Fd"),
		},
		"ListServers": {
			call: func(ctx context.Context, c *Client) error {
				_, _, err := c.ListServers(ctx, "cur 2", 50)
				return err
			},
			reply: mustJSON(t, map[string]any{"success": true, "data": []any{}}),
			want: func() seen {
				s := at(base, "GET", "/v1/sdk/servers")
				s.Query = "cursor=cur+2&limit=50"
				return s
			}(),
		},
		"ListServers first page default limit": {
			call: func(ctx context.Context, c *Client) error {
				_, _, err := c.ListServers(ctx, "", 0)
				return err
			},
			reply: mustJSON(t, map[string]any{"success": true, "data": []any{}}),
			want:  at(base, "GET", "/v1/sdk/servers"),
		},
		"RegisterKey": {
			call: func(ctx context.Context, c *Client) error {
				_, err := c.RegisterKey(ctx, testServerID, protocol.RegisterKeyRequest{DID: testDIDKey, PublicKey: testPEM})
				return err
			},
			reply: serverReply,
			want:  withBody(at(base, "PUT", "/v1/sdk/servers/"+testServerID), map[string]any{"did": testDIDKey, "publicKey": testPEM}),
		},
		"RegisterKey with name": {
			call: func(ctx context.Context, c *Client) error {
				_, err := c.RegisterKey(ctx, testServerID, protocol.RegisterKeyRequest{DID: testDIDKey, PublicKey: testPEM, Name: "renamed"})
				return err
			},
			reply: serverReply,
			want:  withBody(at(base, "PUT", "/v1/sdk/servers/"+testServerID), map[string]any{"did": testDIDKey, "publicKey": testPEM, "name": "renamed"}),
		},
		"DeleteServer": {
			call:  func(ctx context.Context, c *Client) error { return c.DeleteServer(ctx, testServerID) },
			reply: `{"success":true}`,
			want:  at(base, "DELETE", "/v1/sdk/servers/"+testServerID),
		},
		"DisableServer": {
			call: func(ctx context.Context, c *Client) error {
				_, err := c.DisableServer(ctx, testServerID)
				return err
			},
			reply: serverReply,
			want:  at(base, "POST", "/v1/sdk/servers/"+testServerID+"/disable"),
		},
		"EnableServer": {
			call: func(ctx context.Context, c *Client) error {
				_, err := c.EnableServer(ctx, testServerID)
				return err
			},
			reply: serverReply,
			want:  at(base, "POST", "/v1/sdk/servers/"+testServerID+"/enable"),
		},
		"IssueBadge with domain": {
			call: func(ctx context.Context, c *Client) error {
				_, err := c.IssueBadge(ctx, testServerID, protocol.BadgeRequest{Domain: "mcp.example.com"})
				return err
			},
			reply: badgeReply,
			want:  withBody(at(base, "POST", "/v1/sdk/servers/"+testServerID+"/badge"), map[string]any{"domain": "mcp.example.com"}),
		},
		"IssueBadge renewal sends {}": {
			call: func(ctx context.Context, c *Client) error {
				_, err := c.IssueBadge(ctx, testServerID, protocol.BadgeRequest{})
				return err
			},
			reply: badgeReply,
			want:  withBody(at(base, "POST", "/v1/sdk/servers/"+testServerID+"/badge"), map[string]any{}),
		},
		"RevokeBadge": {
			call:  func(ctx context.Context, c *Client) error { return c.RevokeBadge(ctx, testJTI, "compromised") },
			reply: mustJSON(t, envelope(map[string]any{"jti": testJTI, "revoked": true})),
			want:  withBody(at(base, "POST", "/v1/sdk/servers/badges/"+testJTI+"/revoke"), map[string]any{"reason": "compromised"}),
		},
		"BadgeStatus is public": {
			call: func(ctx context.Context, c *Client) error {
				_, err := c.BadgeStatus(ctx, testJTI)
				return err
			},
			reply: `{"jti":"` + testJTI + `","revoked":false}`,
			want:  at(public, "GET", "/v1/servers/badges/"+testJTI+"/status"),
		},
		"JWKS is public": {
			call: func(ctx context.Context, c *Client) error {
				_, err := c.keySet(ctx)
				return err
			},
			reply: `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k1"}]}`,
			want:  at(public, "GET", "/.well-known/jwks.json"),
		},
		"DIDDocument is public": {
			call: func(ctx context.Context, c *Client) error {
				_, err := c.DIDDocument(ctx, testServerID)
				return err
			},
			reply: `{"id":"` + testDIDWeb + `"}`,
			want:  at(public, "GET", "/servers/"+testServerID+"/did.json"),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, replyWith(http.StatusOK, tc.reply))
			c := newTestClient(t, f.URL, nil)
			if err := tc.call(t.Context(), c); err != nil {
				t.Fatalf("call: %v", err)
			}
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("got %d requests, want 1", len(reqs))
			}
			if diff := cmp.Diff(tc.want, reqs[0]); diff != "" {
				t.Errorf("request mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// ---- replies through the client ----

func TestClient_ServerReplies(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		body    string
		want    *protocol.Server
		wantErr error
	}{
		"camel envelope": {body: mustJSON(t, envelope(serverCamel())), want: wantServer()},
		"snake envelope": {body: mustJSON(t, envelope(serverSnake())), want: wantServer()},
		"bare object":    {body: mustJSON(t, serverCamel()), want: wantServer()},
		"missing did": {body: func() string {
			s := serverCamel()
			delete(s, "did")
			return mustJSON(t, envelope(s))
		}(), wantErr: ErrInvalidReply},
		"not JSON":          {body: "<html>ok</html>", wantErr: ErrInvalidReply},
		"success false":     {body: `{"success":false,"message":"nope"}`, wantErr: ErrInvalidReply},
		"empty data object": {body: `{"success":true,"data":{}}`, wantErr: ErrInvalidReply},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, replyWith(http.StatusOK, tc.body))
			c := newTestClient(t, f.URL, nil)
			got, err := c.GetServer(t.Context(), testServerID)
			if diff := cmp.Diff(tc.wantErr, err, cmpopts.EquateErrors()); diff != "" {
				t.Fatalf("error mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("server mismatch (-want +got):\n%s", diff)
			}
			if err != nil && !strings.Contains(err.Error(), "GET /v1/sdk/servers/"+testServerID) {
				t.Errorf("decode error %q does not name the call", err)
			}
		})
	}
}

func TestClient_ListServers(t *testing.T) {
	t.Parallel()
	f := newFake(t, replyWith(http.StatusOK, mustJSON(t, map[string]any{
		"success": true, "data": []any{serverCamel(), serverSnake()}, "nextCursor": "page-2",
	})))
	c := newTestClient(t, f.URL, nil)
	servers, next, err := c.ListServers(t.Context(), "", 2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]protocol.Server{*wantServer(), *wantServer()}, servers); diff != "" {
		t.Errorf("servers mismatch (-want +got):\n%s", diff)
	}
	if next != "page-2" {
		t.Errorf("nextCursor = %q, want page-2", next)
	}
}

func TestClient_IssueBadge(t *testing.T) {
	t.Parallel()
	jws := testJWS(t, testBadgeClaims())
	f := newFake(t, replyWith(http.StatusCreated, mustJSON(t, envelope(map[string]any{
		"badge": jws, "token": jws, "jti": testJTI, "subject": testDIDWeb, "trustLevel": "1",
		"expiresAt": testExpires.Format(time.RFC3339),
	}))))
	c := newTestClient(t, f.URL, nil)
	got, err := c.IssueBadge(t.Context(), testServerID, protocol.BadgeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	want := &protocol.Badge{Badge: jws, Token: jws, JTI: testJTI, Subject: testDIDWeb, TrustLevel: "1", ExpiresAt: testExpires}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("badge mismatch (-want +got):\n%s", diff)
	}
}

func TestClient_DeleteServer_Statuses(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		status  int
		body    string
		wantErr error
	}{
		"200":       {status: http.StatusOK, body: `{"success":true}`},
		"204":       {status: http.StatusNoContent},
		"404":       {status: http.StatusNotFound, body: `{"success":false,"error":"not_found","message":"server not found"}`, wantErr: ErrNotFound},
		"200 empty": {status: http.StatusOK},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, replyWith(tc.status, tc.body))
			err := newTestClient(t, f.URL, nil).DeleteServer(t.Context(), testServerID)
			if diff := cmp.Diff(tc.wantErr, err, cmpopts.EquateErrors()); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClient_ToggleServer_ReadsBackWithoutServerObject(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		s := serverCamel()
		s["status"] = protocol.StatusDisabled
		replyWith(http.StatusOK, mustJSON(t, envelope(s)))(w, r, 0)
	})
	got, err := newTestClient(t, f.URL, nil).DisableServer(t.Context(), testServerID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != protocol.StatusDisabled {
		t.Errorf("status = %q, want disabled", got.Status)
	}
	var methods []string
	for _, r := range f.requests() {
		methods = append(methods, r.Method+" "+r.Path)
	}
	want := []string{"POST /v1/sdk/servers/" + testServerID + "/disable", "GET /v1/sdk/servers/" + testServerID}
	if diff := cmp.Diff(want, methods); diff != "" {
		t.Errorf("calls mismatch (-want +got):\n%s", diff)
	}
}

func TestClient_PublicReplies(t *testing.T) {
	t.Parallel()
	revokedAt := "2026-04-01T00:00:00Z"
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		switch r.URL.Path {
		case "/v1/servers/badges/" + testJTI + "/status":
			replyWith(200, `{"jti":"`+testJTI+`","sub":"`+testDIDWeb+`","revoked":true,"reason":"key_rotated","revokedAt":"`+revokedAt+`","expires_at":"2026-05-06T07:08:09Z"}`)(w, r, 0)
		case "/.well-known/jwks.json":
			replyWith(200, `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k2","alg":"EdDSA","use":"sig"},{"kty":"OKP","crv":"Ed25519","x":"6kpsY-KcUgq-9VB7Ey7F-ZVHdq6-vnuSQh7qaRRG0iw","kid":"k1"}]}`)(w, r, 0)
		case "/servers/" + testServerID + "/did.json":
			replyWith(200, `{"@context":["https://www.w3.org/ns/did/v1"],"id":"`+testDIDWeb+`","verificationMethod":[{"id":"`+testDIDWeb+`#key-1","type":"Ed25519VerificationKey2020","controller":"`+testDIDWeb+`","publicKeyMultibase":"z6Mk"}],"authentication":["`+testDIDWeb+`#key-1"],"assertionMethod":[{"id":"`+testDIDWeb+`#key-1"}]}`)(w, r, 0)
		default:
			http.NotFound(w, r)
		}
	})
	c := newTestClient(t, f.URL, func(cfg *Config) { cfg.APIKey = "" })
	ctx := t.Context()

	st, err := c.BadgeStatus(ctx, testJTI)
	if err != nil {
		t.Fatal(err)
	}
	ra, _ := time.Parse(time.RFC3339, revokedAt)
	wantStatus := &protocol.BadgeStatus{JTI: testJTI, Sub: testDIDWeb, Revoked: true, Reason: protocol.ReasonKeyRotated, RevokedAt: &ra, ExpiresAt: &testExpires}
	if diff := cmp.Diff(wantStatus, st); diff != "" {
		t.Errorf("status mismatch (-want +got):\n%s", diff)
	}

	set, err := c.keySet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type jwk struct{ Kid, Alg, Use, X string }
	var gotSet []jwk
	for _, k := range set.Keys {
		pub, _ := k.Key.(ed25519.PublicKey)
		gotSet = append(gotSet, jwk{k.KeyID, k.Algorithm, k.Use, base64.RawURLEncoding.EncodeToString(pub)})
	}
	wantSet := []jwk{{"k2", "EdDSA", "sig", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}, {"k1", "", "", "6kpsY-KcUgq-9VB7Ey7F-ZVHdq6-vnuSQh7qaRRG0iw"}}
	if diff := cmp.Diff(wantSet, gotSet); diff != "" {
		t.Errorf("JWKS mismatch (-want +got):\n%s", diff)
	}

	doc, err := c.DIDDocument(ctx, testServerID)
	if err != nil {
		t.Fatal(err)
	}
	vm := testDIDWeb + "#key-1"
	wantDoc := &protocol.DIDDocument{
		Context: []string{"https://www.w3.org/ns/did/v1"}, ID: testDIDWeb,
		VerificationMethod: []protocol.VerificationMethod{{ID: vm, Type: "Ed25519VerificationKey2020", Controller: testDIDWeb, PublicKeyMultibase: "z6Mk"}},
		Authentication:     []string{vm}, AssertionMethod: []string{vm},
	}
	if diff := cmp.Diff(wantDoc, doc); diff != "" {
		t.Errorf("DID document mismatch (-want +got):\n%s", diff)
	}
}

// ---- missing API key, bad arguments ----

// failingTransport fails the test on any I/O.
type failingTransport struct{ t *testing.T }

func (f failingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
	return nil, errors.New("no I/O expected")
}

func TestClient_MissingAPIKey_BeforeAnyIO(t *testing.T) {
	t.Parallel()
	c, err := New(Config{BaseURL: "https://registry.example.com", HTTPClient: &http.Client{Transport: failingTransport{t}}})
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]func(context.Context) error{
		"CreateServer": func(ctx context.Context) error {
			_, err := c.CreateServer(ctx, protocol.CreateServerRequest{}, "k")
			return err
		},
		"GetServer": func(ctx context.Context) error { _, err := c.GetServer(ctx, "id"); return err },
		"ListServers": func(ctx context.Context) error {
			_, _, err := c.ListServers(ctx, "", 0)
			return err
		},
		"RegisterKey": func(ctx context.Context) error {
			_, err := c.RegisterKey(ctx, "id", protocol.RegisterKeyRequest{})
			return err
		},
		"DeleteServer":  func(ctx context.Context) error { return c.DeleteServer(ctx, "id") },
		"DisableServer": func(ctx context.Context) error { _, err := c.DisableServer(ctx, "id"); return err },
		"EnableServer":  func(ctx context.Context) error { _, err := c.EnableServer(ctx, "id"); return err },
		"IssueBadge": func(ctx context.Context) error {
			_, err := c.IssueBadge(ctx, "id", protocol.BadgeRequest{})
			return err
		},
		"RevokeBadge": func(ctx context.Context) error { return c.RevokeBadge(ctx, "jti", "") },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := call(t.Context())
			if diff := cmp.Diff(ErrMissingAPIKey, err, cmpopts.EquateErrors()); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
			for _, want := range []string{"api_key", "CAPISCIO_API_KEY"} {
				if err != nil && !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %s", err, want)
				}
			}
		})
	}
}

func TestClient_PublicCallsNeedNoKey(t *testing.T) {
	t.Parallel()
	f := newFake(t, replyWith(http.StatusOK, `{"keys":[]}`))
	c := newTestClient(t, f.URL, func(cfg *Config) { cfg.APIKey = "" })
	if _, err := c.keySet(t.Context()); err != nil {
		t.Fatalf("JWKS without a key: %v", err)
	}
	if r := f.requests()[0]; r.HasAPIKey || r.Authorization != "" {
		t.Errorf("public call sent credentials: %+v", r)
	}
}

func TestClient_EmptyIDRejectedBeforeIO(t *testing.T) {
	t.Parallel()
	c, err := New(Config{BaseURL: "https://registry.example.com", APIKey: testAPIKey, HTTPClient: &http.Client{Transport: failingTransport{t}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetServer(t.Context(), " "); err == nil || !strings.Contains(err.Error(), "server id") {
		t.Errorf("GetServer(\" \") error = %v, want an empty-id error", err)
	}
	if err := c.RevokeBadge(t.Context(), "", ""); err == nil || !strings.Contains(err.Error(), "jti") {
		t.Errorf("RevokeBadge(\"\") error = %v, want an empty-jti error", err)
	}
}

// ---- redirects, sizes ----

func TestClient_RefusesCrossOriginRedirect(t *testing.T) {
	t.Parallel()
	other := newFake(t, replyWith(http.StatusOK, mustJSON(t, envelope(serverCamel()))))
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	})
	_, err := newTestClient(t, f.URL, nil).GetServer(t.Context(), testServerID)
	if !errors.Is(err, errRedirectRefused) {
		t.Fatalf("error = %v, want a refused redirect", err)
	}
	if n := other.calls.Load(); n != 0 {
		t.Errorf("the other origin got %d calls (and the API key), want 0", n)
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("a refused redirect was retried: %d calls, want 1", n)
	}
}

func TestClient_FollowsSameOriginRedirect(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/v1/sdk/servers/"+testServerID, http.StatusTemporaryRedirect)
			return
		}
		replyWith(http.StatusOK, mustJSON(t, envelope(serverCamel())))(w, r, 0)
	})
	c := newTestClient(t, f.URL, nil)
	rep, err := c.do(t.Context(), request{method: http.MethodGet, path: "/old", auth: true, retryable: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeAs[protocol.Server](rep.body); err != nil {
		t.Fatal(err)
	}
	if got := f.requests()[1].APIKey; got != testAPIKey {
		t.Errorf("API key after same-origin redirect = %q, want it kept", got)
	}
}

func TestClient_ReplyTooLarge(t *testing.T) {
	t.Parallel()
	big := `{"success":true,"data":{"id":"x","did":"did:web:x","pad":"` + strings.Repeat("a", maxReplyBytes) + `"}}`
	f := newFake(t, replyWith(http.StatusOK, big))
	_, err := newTestClient(t, f.URL, nil).GetServer(t.Context(), testServerID)
	if !errors.Is(err, ErrInvalidReply) || !strings.Contains(err.Error(), "1 MiB") {
		t.Fatalf("error = %v, want an oversized-reply error", err)
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("oversized reply was retried: %d calls", n)
	}
}

// TestClient_EveryMethodReportsBadReplies checks each decoding method wraps
// an unreadable 2xx reply as ErrInvalidReply naming the call, and rejects an
// empty id or jti before any I/O.
func TestClient_EveryMethodReportsBadReplies(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		call     func(context.Context, *Client, string) error
		wantCall string
	}{
		"CreateServer": {call: func(ctx context.Context, c *Client, _ string) error {
			_, err := c.CreateServer(ctx, protocol.CreateServerRequest{}, "")
			return err
		}, wantCall: "POST /v1/sdk/servers"},
		"GetServer": {call: func(ctx context.Context, c *Client, id string) error {
			_, err := c.GetServer(ctx, id)
			return err
		}, wantCall: "GET /v1/sdk/servers/x"},
		"ListServers": {call: func(ctx context.Context, c *Client, _ string) error {
			_, _, err := c.ListServers(ctx, "", 0)
			return err
		}, wantCall: "GET /v1/sdk/servers"},
		"RegisterKey": {call: func(ctx context.Context, c *Client, id string) error {
			_, err := c.RegisterKey(ctx, id, protocol.RegisterKeyRequest{})
			return err
		}, wantCall: "PUT /v1/sdk/servers/x"},
		"DisableServer": {call: func(ctx context.Context, c *Client, id string) error {
			_, err := c.DisableServer(ctx, id)
			return err
		}, wantCall: "POST /v1/sdk/servers/x/disable"},
		"EnableServer": {call: func(ctx context.Context, c *Client, id string) error {
			_, err := c.EnableServer(ctx, id)
			return err
		}, wantCall: "POST /v1/sdk/servers/x/enable"},
		"IssueBadge": {call: func(ctx context.Context, c *Client, id string) error {
			_, err := c.IssueBadge(ctx, id, protocol.BadgeRequest{})
			return err
		}, wantCall: "POST /v1/sdk/servers/x/badge"},
		"BadgeStatus": {call: func(ctx context.Context, c *Client, jti string) error {
			_, err := c.BadgeStatus(ctx, jti)
			return err
		}, wantCall: "GET /v1/servers/badges/x/status"},
		"JWKS": {call: func(ctx context.Context, c *Client, _ string) error {
			_, err := c.keySet(ctx)
			return err
		}, wantCall: "GET /.well-known/jwks.json"},
		"DIDDocument": {call: func(ctx context.Context, c *Client, id string) error {
			_, err := c.DIDDocument(ctx, id)
			return err
		}, wantCall: "GET /servers/x/did.json"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, replyWith(http.StatusOK, `{"success":true,"data":"unexpected"}`))
			c := newTestClient(t, f.URL, nil)
			err := tc.call(t.Context(), c, "x")
			if !errors.Is(err, ErrInvalidReply) || !strings.Contains(err.Error(), tc.wantCall) {
				t.Errorf("error = %v, want ErrInvalidReply naming %q", err, tc.wantCall)
			}
			if strings.Contains(tc.wantCall, "/x") {
				before := f.calls.Load()
				if err := tc.call(t.Context(), c, ""); err == nil || errors.Is(err, ErrInvalidReply) {
					t.Errorf("empty argument: error = %v, want an argument error", err)
				}
				if f.calls.Load() != before {
					t.Error("an empty argument reached the network")
				}
			}
		})
	}
}

func TestClient_ToggleServer_EnvelopeWithoutData(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.Method == http.MethodPost {
			replyWith(http.StatusOK, `{"success":true,"message":"enabled"}`)(w, r, n)
			return
		}
		replyWith(http.StatusOK, mustJSON(t, envelope(serverCamel())))(w, r, n)
	})
	got, err := newTestClient(t, f.URL, nil).EnableServer(t.Context(), testServerID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantServer(), got); diff != "" {
		t.Errorf("server mismatch (-want +got):\n%s", diff)
	}
	if n := f.calls.Load(); n != 2 {
		t.Errorf("calls = %d, want POST then GET", n)
	}
}
