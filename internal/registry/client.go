// Package registry is the HTTP client for the CapiscIO registry API: retries
// with backoff that honour Retry-After and the deadline, idempotent creates,
// redaction of secrets from every error and log line, verification of what a
// reply says before it is believed (badges, registrations) and proof before a
// record is taken as deleted. The wire types, routes and identifier rules are
// the protocol package's (internal/protocol), shared with the local registry.
//
// This package never imports terraform-plugin-framework.
package registry

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-cleanhttp"

	"github.com/capiscio/terraform-provider-capiscio/internal/did"
	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// Defaults applied by New.
const (
	DefaultRequestTimeout = 30 * time.Second
	DefaultMaxRetries     = 4
	DefaultMinBackoff     = 500 * time.Millisecond
	DefaultMaxBackoff     = 30 * time.Second
	DefaultUserAgent      = "terraform-provider-capiscio"
)

// MaxIdleConnsPerHost is how many idle connections to the registry a client
// keeps for reuse: more than Terraform's -parallelism (10 by default), so
// that every operation in flight finds one.
const MaxIdleConnsPerHost = 64

// Config configures a Client.
type Config struct {
	// BaseURL is the registry's absolute http(s) URL; a trailing "/" is
	// ignored. Plain http is accepted only for loopback hosts (NormalizeBaseURL).
	BaseURL string
	// APIKey may be empty: calls that need it then return ErrMissingAPIKey
	// before any I/O. Public calls (BadgeStatus, JWKS, DIDDocument) never
	// send it.
	APIKey string
	// RequestTimeout bounds each HTTP attempt (default 30s).
	RequestTimeout time.Duration
	// MaxRetries is the number of retries after the first attempt for
	// 429/5xx/network errors. 0 means no retries; a negative value means
	// DefaultMaxRetries (4). Providers should pass DefaultMaxRetries when
	// the user sets nothing.
	MaxRetries int
	// MinBackoff and MaxBackoff bound the wait between attempts
	// (defaults 500ms and 30s).
	MinBackoff, MaxBackoff time.Duration
	// UserAgent is sent on every request, e.g.
	// "terraform-provider-capiscio/1.2.3" (default DefaultUserAgent).
	UserAgent string
	// HTTPClient is an optional base client, used for its Transport and Jar.
	// It is cloned, never mutated.
	HTTPClient *http.Client
}

// Client calls the CapiscIO registry API. It is safe for concurrent use.
type Client struct {
	baseURL    string
	apiKey     string
	userAgent  string
	httpClient *http.Client
	maxRetries int
	minBackoff time.Duration
	maxBackoff time.Duration

	// Seams for tests: the clock used for Retry-After dates, the jitter
	// source, and a hook told of every planned wait.
	now    func() time.Time
	jitter func() float64
	onWait func(attempt int, wait time.Duration)

	// keys caches the registry's published key set for badge verification.
	keys keySetCache
}

// New validates cfg and builds a Client.
func New(cfg Config) (*Client, error) {
	// One definition of the URL rules (url.go), shared with the provider's
	// validator.
	normalized, err := NormalizeBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("registry client: %w", err)
	}
	base, err := url.Parse(normalized)
	if err != nil {
		return nil, fmt.Errorf("registry client: %w", err)
	}
	timeout := cfg.RequestTimeout
	switch {
	case timeout == 0:
		timeout = DefaultRequestTimeout
	case timeout < 0:
		return nil, fmt.Errorf("registry client: request timeout must not be negative, got %s", timeout)
	}
	retries := cfg.MaxRetries
	if retries < 0 {
		retries = DefaultMaxRetries
	}
	minB, maxB := cfg.MinBackoff, cfg.MaxBackoff
	if minB < 0 || maxB < 0 {
		return nil, errors.New("registry client: backoff durations must not be negative")
	}
	if minB == 0 {
		minB = DefaultMinBackoff
	}
	if maxB == 0 {
		maxB = max(DefaultMaxBackoff, minB)
	}
	if minB > maxB {
		return nil, fmt.Errorf("registry client: minimum backoff %s is longer than maximum backoff %s", minB, maxB)
	}
	if strings.ContainsAny(cfg.APIKey, "\r\n") {
		return nil, errors.New("registry client: the API key contains a line break")
	}
	ua := strings.TrimSpace(cfg.UserAgent)
	if ua == "" {
		ua = DefaultUserAgent
	}

	var hc *http.Client
	if cfg.HTTPClient != nil {
		clone := *cfg.HTTPClient
		hc = &clone
	} else {
		// cleanhttp's pooled client, with more idle connections: cleanhttp
		// keeps GOMAXPROCS+1 per host (3 on two cores), and Terraform runs 10
		// operations at once by default, all against this one host, so the
		// connections above 3 were closed after each request and dialled
		// again for the next (a TCP handshake and teardown per request).
		transport := cleanhttp.DefaultPooledTransport()
		transport.MaxIdleConnsPerHost = MaxIdleConnsPerHost
		hc = &http.Client{Transport: transport}
	}
	hc.Timeout = timeout
	origin := base.Scheme + "://" + base.Host
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		// Same-origin redirects only: net/http copies custom headers such
		// as the API key header to any host it is redirected to.
		if req.URL.Scheme+"://"+req.URL.Host != origin {
			return errRedirectRefused
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}

	return &Client{
		baseURL:    normalized,
		apiKey:     cfg.APIKey,
		userAgent:  ua,
		httpClient: hc,
		maxRetries: retries,
		minBackoff: minB,
		maxBackoff: maxB,
		now:        time.Now,
		jitter:     rand.Float64,
	}, nil
}

// BaseURL returns the normalised registry URL, without a trailing "/".
func (c *Client) BaseURL() string { return c.baseURL }

// request describes one API call.
type request struct {
	method         string
	path           string // escaped path below the base URL
	query          url.Values
	body           any // marshalled as JSON when not nil
	auth           bool
	idempotencyKey string
	retryable      bool
}

// reply is a 2xx reply.
type reply struct {
	status int
	body   []byte
}

// do performs one API call with retries (retry.go). Non-2xx replies become
// *APIError, transport failures *RequestError.
func (c *Client) do(ctx context.Context, r request) (*reply, error) {
	if r.auth && c.apiKey == "" {
		return nil, fmt.Errorf("%s %s: %w", r.method, r.path, ErrMissingAPIKey)
	}
	var body []byte
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("%s %s: encoding the request: %w", r.method, r.path, err)
		}
		body = b
	}
	start := time.Now()
	res := c.withRetries(ctx, r, body)
	c.logDone(ctx, r, res, time.Since(start))
	switch {
	case res.err != nil:
		err := res.err
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w: %w", ctxErr, err)
		}
		return nil, &RequestError{Method: r.method, Path: r.path, Attempts: max(res.attempt, 1), Reached: res.reached, Err: err}
	case res.status >= 200 && res.status < 300:
		return &reply{status: res.status, body: res.body}, nil
	}
	code, msg := protocol.DecodeError(res.body, c.redact)
	apiErr := &APIError{StatusCode: res.status, Code: code, Message: msg, Method: r.method, Path: r.path, Attempts: res.attempt}
	if ra, ok := parseRetryAfter(res.header, c.now()); ok {
		apiErr.RetryAfter = ra
	}
	return nil, apiErr
}

func requireArg(op, name, value string) error {
	if strings.TrimSpace(value) == "" {
		return fmt.Errorf("registry %s: the %s must not be empty", op, name)
	}
	return nil
}

// decodeErr wraps a decoding failure with the call it belongs to.
func decodeErr(method, path string, err error) error {
	return fmt.Errorf("registry reply to %s %s: %w", method, path, err)
}

// CreateServer creates a server record: POST /v1/sdk/servers with
// {"name","did","publicKey"}. The call is retried only when idempotencyKey
// is not empty; it is sent as the Idempotency-Key header.
func (c *Client) CreateServer(ctx context.Context, req protocol.CreateServerRequest, idempotencyKey string) (*protocol.Server, error) {
	ctx = c.MaskSecrets(ctx)
	r := request{
		method: http.MethodPost, path: protocol.PathServers, body: req, auth: true,
		idempotencyKey: idempotencyKey, retryable: idempotencyKey != "",
	}
	s, err := c.serverCall(ctx, r)
	if err == nil {
		err = c.checkRegistration(r, s, "", req.PublicKey)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// GetServer reads one server record: GET /v1/sdk/servers/{id}.
func (c *Client) GetServer(ctx context.Context, id string) (*protocol.Server, error) {
	ctx = c.MaskSecrets(ctx)
	if err := requireArg("GetServer", "server id", id); err != nil {
		return nil, err
	}
	return c.serverCall(ctx, request{method: http.MethodGet, path: protocol.Path(protocol.PathServer, id), auth: true, retryable: true})
}

// ListServers reads one page of the caller's servers:
// GET /v1/sdk/servers?limit=&cursor=. A limit <= 0 leaves the registry's
// default. nextCursor is empty on the last page.
func (c *Client) ListServers(ctx context.Context, cursor string, limit int) (servers []protocol.Server, nextCursor string, err error) {
	ctx = c.MaskSecrets(ctx)
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	r := request{method: http.MethodGet, path: protocol.PathServers, query: q, auth: true, retryable: true}
	rep, err := c.do(ctx, r)
	if err != nil {
		return nil, "", err
	}
	servers, nextCursor, err = protocol.DecodeServerPage(rep.body)
	if err != nil {
		return nil, "", c.replyErr(r.method, r.path, err)
	}
	return servers, nextCursor, nil
}

// RegisterKey registers a server's key: PUT /v1/sdk/servers/{id} with
// {"did","publicKey"} (and "name" when set), exactly as the runtime SDK does.
func (c *Client) RegisterKey(ctx context.Context, id string, req protocol.RegisterKeyRequest) (*protocol.Server, error) {
	ctx = c.MaskSecrets(ctx)
	if err := requireArg("RegisterKey", "server id", id); err != nil {
		return nil, err
	}
	r := request{method: http.MethodPut, path: protocol.Path(protocol.PathServer, id), body: req, auth: true, retryable: true}
	s, err := c.serverCall(ctx, r)
	if err == nil {
		err = c.checkRegistration(r, s, id, req.PublicKey)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// checkRegistration checks that the 2xx reply to a create or a key
// registration describes what was asked: the record asked for (wantID, when
// the request named one), a did that is that record's did:web, and the key
// that was sent (when the reply says which key the record holds). A reply
// that does not is not believed; it is an ErrInvalidReply, so the outcome
// counts as unknown (IsOutcomeUnknown): the registry may well have carried
// the request out.
func (c *Client) checkRegistration(r request, s *protocol.Server, wantID, sentKey string) error {
	if wantID != "" && s.ID != wantID {
		return c.replyErr(r.method, r.path, protocol.InvalidReply("the reply describes server record %q, not %s", clip(s.ID, 64), wantID))
	}
	if _, didID, err := did.ParseServerDID(s.DID); err != nil || didID != s.ID {
		return c.replyErr(r.method, r.path, protocol.InvalidReply("the reply's did %q is not the did:web of server record %s", clip(s.DID, 120), s.ID))
	}
	sent, parseErr := keys.ParsePublicPEM(sentKey)
	if holds, known := replyHoldsKey(s, sent); parseErr == nil && known && !holds {
		return c.replyErr(r.method, r.path, protocol.InvalidReply("the reply says server record %s holds another key than the one sent", s.ID))
	}
	return nil
}

// replyHoldsKey reports whether a server object holds key; known is false
// when it says neither publicKey nor didKey.
func replyHoldsKey(s *protocol.Server, key ed25519.PublicKey) (holds, known bool) {
	if s.PublicKey != "" {
		pub, err := keys.ParsePublicPEM(s.PublicKey)
		return err == nil && pub.Equal(key), true
	}
	if s.DIDKey != "" {
		return s.DIDKey == keys.DIDKey(key), true
	}
	return false, false
}

// DeleteServer deletes a server record: DELETE /v1/sdk/servers/{id}. 200 and
// 204 are success; a 404 is returned as an error matching ErrNotFound, which
// callers deleting a resource usually treat as success.
func (c *Client) DeleteServer(ctx context.Context, id string) error {
	ctx = c.MaskSecrets(ctx)
	if err := requireArg("DeleteServer", "server id", id); err != nil {
		return err
	}
	_, err := c.do(ctx, request{method: http.MethodDelete, path: protocol.Path(protocol.PathServer, id), auth: true, retryable: true})
	return err
}

// DisableServer disables a server record: POST /v1/sdk/servers/{id}/disable.
func (c *Client) DisableServer(ctx context.Context, id string) (*protocol.Server, error) {
	ctx = c.MaskSecrets(ctx)
	if err := requireArg("DisableServer", "server id", id); err != nil {
		return nil, err
	}
	return c.toggleServer(ctx, id, protocol.PathServerDisable)
}

// EnableServer enables a server record: POST /v1/sdk/servers/{id}/enable.
func (c *Client) EnableServer(ctx context.Context, id string) (*protocol.Server, error) {
	ctx = c.MaskSecrets(ctx)
	if err := requireArg("EnableServer", "server id", id); err != nil {
		return nil, err
	}
	return c.toggleServer(ctx, id, protocol.PathServerEnable)
}

// toggleServer posts to disable or enable. The shape of those replies is
// undocumented: when the reply carries no server object
// (204, or an envelope without data), the record is read back with GET.
func (c *Client) toggleServer(ctx context.Context, id, route string) (*protocol.Server, error) {
	r := request{method: http.MethodPost, path: protocol.Path(route, id), auth: true, retryable: true}
	rep, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	if !carriesServer(rep.body) {
		return c.GetServer(ctx, id)
	}
	s, err := decodeAs[protocol.Server](rep.body)
	if err != nil {
		return nil, c.replyErr(r.method, r.path, err)
	}
	return s, nil
}

// serverCall performs a call whose reply carries one server object.
func (c *Client) serverCall(ctx context.Context, r request) (*protocol.Server, error) {
	rep, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	s, err := decodeAs[protocol.Server](rep.body)
	if err != nil {
		return nil, c.replyErr(r.method, r.path, err)
	}
	return s, nil
}

// IssueBadge asks for a trust badge: POST /v1/sdk/servers/{id}/badge with {}
// or {"domain"}. Issuance is retried: a duplicate badge is harmless.
func (c *Client) IssueBadge(ctx context.Context, id string, req protocol.BadgeRequest) (*protocol.Badge, error) {
	ctx = c.MaskSecrets(ctx)
	if err := requireArg("IssueBadge", "server id", id); err != nil {
		return nil, err
	}
	r := request{method: http.MethodPost, path: protocol.Path(protocol.PathServerBadge, id), body: req, auth: true, retryable: true}
	rep, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	b, err := protocol.DecodeBadge(rep.body)
	if err != nil {
		return nil, c.replyErr(r.method, r.path, err)
	}
	return b, nil
}

// RevokeBadge revokes a badge by jti: POST /v1/sdk/servers/badges/{jti}/revoke
// with {"reason"} (omitted when empty). The reply body is not needed.
func (c *Client) RevokeBadge(ctx context.Context, jti, reason string) error {
	ctx = c.MaskSecrets(ctx)
	if err := requireArg("RevokeBadge", "badge jti", jti); err != nil {
		return err
	}
	_, err := c.do(ctx, request{
		method: http.MethodPost, path: protocol.Path(protocol.PathBadgeRevoke, jti),
		body: protocol.RevokeRequest{Reason: reason}, auth: true, retryable: true,
	})
	return err
}

// BadgeStatus reads a badge's revocation status (public, no API key):
// GET /v1/servers/badges/{jti}/status.
func (c *Client) BadgeStatus(ctx context.Context, jti string) (*protocol.BadgeStatus, error) {
	ctx = c.MaskSecrets(ctx)
	if err := requireArg("BadgeStatus", "badge jti", jti); err != nil {
		return nil, err
	}
	r := request{method: http.MethodGet, path: protocol.Path(protocol.PathServerBadgeStat, jti), retryable: true}
	rep, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	st, err := decodeAs[protocol.BadgeStatus](rep.body)
	if err != nil {
		return nil, c.replyErr(r.method, r.path, err)
	}
	return st, nil
}

// DIDDocument reads a server's did:web document (public):
// GET /servers/{id}/did.json.
func (c *Client) DIDDocument(ctx context.Context, id string) (*protocol.DIDDocument, error) {
	ctx = c.MaskSecrets(ctx)
	if err := requireArg("DIDDocument", "server id", id); err != nil {
		return nil, err
	}
	r := request{method: http.MethodGet, path: protocol.Path(protocol.PathDIDDocument, id), retryable: true}
	rep, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	doc, err := decodeAs[protocol.DIDDocument](rep.body)
	if err != nil {
		return nil, c.replyErr(r.method, r.path, err)
	}
	return doc, nil
}

// DIDDocumentURL is where DIDDocument reads a server's did:web document:
// the registry's base URL and /servers/{id}/did.json.
func (c *Client) DIDDocumentURL(id string) string {
	return c.baseURL + protocol.Path(protocol.PathDIDDocument, id)
}

// PublishedKey is the key a server's did:web document publishes.
type PublishedKey struct {
	// DID is the document's id.
	DID string
	// MethodID is the id of the verification method that holds the key,
	// such as did:web:...:servers:<id>#key-1.
	MethodID string
	// Key is that method's Ed25519 key.
	Key ed25519.PublicKey
}

// PublishedKey reads a server's DID document (public route) and returns the
// Ed25519 key of its first verification method, the one verifiers use.
func (c *Client) PublishedKey(ctx context.Context, id string) (*PublishedKey, error) {
	doc, err := c.DIDDocument(ctx, id)
	if err != nil {
		return nil, err
	}
	if len(doc.VerificationMethod) == 0 {
		return nil, protocol.InvalidReply("the DID document of server %s has no verification method", id)
	}
	vm := doc.VerificationMethod[0]
	key, err := keys.ParseMultibase(vm.PublicKeyMultibase)
	if err != nil {
		return nil, protocol.InvalidReply("the DID document of server %s publishes an unreadable key: %v", id, err)
	}
	return &PublishedKey{DID: doc.ID, MethodID: vm.ID, Key: key}, nil
}
