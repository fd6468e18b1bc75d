// Package registryserver is the local CapiscIO registry: a real,
// CapiscIO-compatible HTTP server with a durable store and a badge CA, for
// development, CI and the provider's tests, speaking the protocol of internal/protocol.
//
// It speaks the wire types of internal/registry, so the client and the server
// share one definition. It never imports terraform-plugin-framework.
package registryserver

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/capiscio/terraform-provider-capiscio/internal/did"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// Badge lifetimes (RFC-002 §7.2).
const (
	DefaultBadgeTTL = 300 * time.Second
	MinBadgeTTL     = 60 * time.Second
	MaxBadgeTTL     = 3600 * time.Second
)

// dbFile is the store inside the data directory.
const dbFile = "registry.db"

// devOrg is the organisation of the development API key.
const devOrg = "dev"

// apiKeyPrefix starts every key this registry mints.
const apiKeyPrefix = "sk_test_"

// Config configures a Server. DataDir and PublicURL are required.
type Config struct {
	// DataDir holds registry.db and ca.jwk; it is created if missing.
	DataDir string
	// PublicURL is the base URL clients reach the registry at. Its host
	// (and path, if any) make up the did:web of every server.
	PublicURL string
	// Issuer is the badges' iss; empty means the origin of PublicURL.
	Issuer string
	// BadgeTTL is the lifetime of issued badges; 0 means DefaultBadgeTTL.
	// Other values must lie within MinBadgeTTL..MaxBadgeTTL.
	BadgeTTL time.Duration
	// DevAPIKey fixes the value of the development key (org "dev"); it must
	// pass ValidDevAPIKey. Empty means: mint a random one on the first start
	// of this data directory.
	DevAPIKey string
	// RateLimitPerMinute limits requests per API key; 0 turns it off.
	RateLimitPerMinute int
	// PublicStats serves PathStats without an API key. By default it needs
	// the API key of any organisation.
	PublicStats bool
	// Logger receives one line per request; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Server is the local registry. Create it with New, serve Handler, and Close
// it when done.
type Server struct {
	store       *store
	ca          *ca
	log         *slog.Logger
	now         func() time.Time
	issuer      string
	didHost     string // the public URL's host, which the DIDs it assigns name
	ttl         time.Duration
	limiter     *rateLimiter // nil when rate limiting is off
	devKey      string
	publicStats bool
	orgs        sync.Map // keyed API key hash -> org, a cache of the api_key_hmacs bucket
	stats       *stats
	handler     http.Handler
}

// New opens (or creates) the registry in cfg.DataDir: the store, the CA key
// and, on first start or when cfg.DevAPIKey is set, the development API key.
// It refuses a data directory whose store or CA key is lost, damaged or
// exposed (see openDataDir), without changing a byte of it.
func New(cfg Config) (*Server, error) {
	s, err := newServer(cfg)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the data directory: %w", err)
	}
	// Every check comes before the first write (the migration), so a
	// refused data directory is left as it was.
	if s.store, err = openDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	if err := s.openCA(cfg.DataDir); err != nil {
		_ = s.store.close()
		return nil, err
	}
	if err := s.store.migrate(); err != nil {
		_ = s.store.close()
		return nil, err
	}
	if err := s.ensureDevKey(cfg.DevAPIKey); err != nil {
		_ = s.store.close()
		return nil, err
	}
	s.handler = s.buildHandler()
	return s, nil
}

// newServer validates cfg and fills in the parts of a Server that need no
// disk.
func newServer(cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("registryserver: DataDir is required")
	}
	public, err := parsePublicURL(cfg.PublicURL)
	if err != nil {
		return nil, err
	}
	issuer, err := issuerOf(cfg.Issuer, public)
	if err != nil {
		return nil, err
	}
	ttl, err := badgeTTL(cfg.BadgeTTL)
	if err != nil {
		return nil, err
	}
	if cfg.DevAPIKey != "" {
		if err := ValidDevAPIKey(cfg.DevAPIKey); err != nil {
			return nil, fmt.Errorf("registryserver: %w", err)
		}
	}
	if cfg.RateLimitPerMinute < 0 {
		return nil, fmt.Errorf("registryserver: the rate limit must be 0 (off) or positive, got %d", cfg.RateLimitPerMinute)
	}
	s := &Server{
		log:         cfg.Logger,
		now:         cfg.Now,
		issuer:      issuer,
		didHost:     public.Host,
		ttl:         ttl,
		publicStats: cfg.PublicStats,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if cfg.RateLimitPerMinute > 0 {
		s.limiter = newRateLimiter(cfg.RateLimitPerMinute)
	}
	return s, nil
}

// parsePublicURL checks the public URL the way the client checks a registry
// URL (protocol.ParseBaseURL), and refuses a path: this registry serves its
// routes at the root, so the DIDs it assigns are did:web:<host>:servers:<id>,
// the one server DID form.
func parsePublicURL(raw string) (*url.URL, error) {
	canonical, err := protocol.ParseBaseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("registryserver: the public URL %q: %w", raw, err)
	}
	u, err := url.Parse(canonical)
	if err != nil {
		return nil, fmt.Errorf("registryserver: the public URL %q: %w", raw, err)
	}
	if u.Path != "" {
		return nil, fmt.Errorf("registryserver: the public URL %q has a path; this registry serves at the root of its host, such as http://localhost:8080", raw)
	}
	return u, nil
}

// issuerOf validates an explicit issuer, or derives the origin of the public
// URL. Badge issuers are origins: scheme and host, in canonical form, no path.
func issuerOf(raw string, public *url.URL) (string, error) {
	if raw == "" {
		return public.Scheme + "://" + public.Host, nil
	}
	canonical, err := protocol.ParseBaseURL(raw)
	if err == nil && strings.Count(canonical, "/") != 2 {
		err = errors.New("it has a path")
	}
	if err != nil {
		return "", fmt.Errorf("registryserver: the issuer %q must be an origin such as https://registry.example.com (scheme and host, no path): %w", raw, err)
	}
	return canonical, nil
}

func badgeTTL(ttl time.Duration) (time.Duration, error) {
	if ttl == 0 {
		return DefaultBadgeTTL, nil
	}
	if ttl < MinBadgeTTL || ttl > MaxBadgeTTL || ttl%time.Second != 0 {
		return 0, fmt.Errorf("registryserver: the badge TTL must be whole seconds between %s and %s, got %s", MinBadgeTTL, MaxBadgeTTL, ttl)
	}
	return ttl, nil
}

func (s *Server) openCA(dir string) error {
	c, err := loadOrCreateCA(dir, s.now(), s.store.badgeCount)
	if err != nil {
		return err
	}
	s.ca = c
	return nil
}

// ensureDevKey stores the development key given by flag (idempotently across
// restarts), or mints one on the first start of the data directory.
func (s *Server) ensureDevKey(fixed string) error {
	if fixed != "" {
		if err := s.store.addAPIKey(s.store.hashAPIKey(fixed), devOrg, s.now().UTC()); err != nil {
			return fmt.Errorf("storing the development API key: %w", err)
		}
		s.devKey = fixed
		return s.store.markDevKeyCreated()
	}
	key, err := newAPIKey()
	if err != nil {
		return err
	}
	created, err := s.store.createDevKeyOnce(s.store.hashAPIKey(key), s.now().UTC())
	if err != nil {
		return fmt.Errorf("storing the development API key: %w", err)
	}
	if created {
		s.devKey = key
	}
	return nil
}

// Handler returns the registry's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Close closes the store. Stop serving Handler first.
func (s *Server) Close() error { return s.store.close() }

// DevAPIKey returns the development API key (org "dev") if this process
// created it or was given it; "" when it was created by an earlier run (only
// its hash is stored).
func (s *Server) DevAPIKey() string { return s.devKey }

// Issuer returns the iss of the badges this registry signs.
func (s *Server) Issuer() string { return s.issuer }

// DID returns the did:web this registry assigns to the server with this id.
func (s *Server) DID(id string) string { return did.ServerDID(s.didHost, id) }

// CreateAPIKey mints a new API key for org and returns it. Only its hash,
// keyed with a secret of the store (HMAC-SHA256), is stored; the key cannot be
// shown again.
func (s *Server) CreateAPIKey(org string) (string, error) {
	return createAPIKey(s.store, org, s.now().UTC())
}

// AddAPIKey opens the registry database in dataDir (creating it if needed)
// and mints an API key for org, for `capiscio-registry keys create`. It fails
// while a running registry holds the database.
func AddAPIKey(dataDir, org string) (string, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("creating the data directory: %w", err)
	}
	st, err := openDataDir(dataDir)
	if err != nil {
		return "", err
	}
	if err := st.migrate(); err != nil {
		_ = st.close()
		return "", err
	}
	key, err := createAPIKey(st, org, time.Now().UTC())
	if closeErr := st.close(); err == nil && closeErr != nil {
		return "", closeErr
	}
	return key, err
}

func createAPIKey(st *store, org string, now time.Time) (string, error) {
	if !validOrg(org) {
		return "", fmt.Errorf("the organisation name %q is invalid: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", org)
	}
	key, err := newAPIKey()
	if err != nil {
		return "", err
	}
	if err := st.addAPIKey(st.hashAPIKey(key), org, now); err != nil {
		return "", fmt.Errorf("storing the API key: %w", err)
	}
	return key, nil
}

// newAPIKey returns "sk_test_" + base64url of 32 random bytes.
func newAPIKey() (string, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("generating an API key: %w", err)
	}
	return apiKeyPrefix + base64.RawURLEncoding.EncodeToString(raw[:]), nil
}

var orgPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func validOrg(org string) bool { return orgPattern.MatchString(org) }

// A development API key given by the user must carry at least 128 bits if it
// is random. The rule is on its characters, as entropy cannot be measured:
// after an optional sk_test_ or sk_live_ prefix, 22 to 248 characters of
// A-Z a-z 0-9 - _ (22 random ones of these 64 carry 132 bits).
const (
	minDevKeyChars = 22
	maxDevKeyChars = 248
)

var devKeyPrefixes = []string{"sk_test_", "sk_live_"}

// ValidDevAPIKey checks a user-supplied development API key against the rule
// above. Its error never quotes the key.
func ValidDevAPIKey(key string) error {
	body := key
	for _, prefix := range devKeyPrefixes {
		if strings.HasPrefix(key, prefix) {
			body = key[len(prefix):]
			break
		}
	}
	var problem string
	switch {
	case len(body) < minDevKeyChars:
		problem = fmt.Sprintf("has %d characters after its prefix, fewer than %d", len(body), minDevKeyChars)
	case len(body) > maxDevKeyChars:
		problem = fmt.Sprintf("has %d characters after its prefix, more than %d", len(body), maxDevKeyChars)
	case strings.Trim(body, base64URLAlphabet) != "":
		problem = "has characters other than A-Z, a-z, 0-9, '-' and '_'"
	default:
		return nil
	}
	return fmt.Errorf("the development API key %s: use at least %d random characters of A-Z, a-z, 0-9, '-' and '_' (128 bits) after an optional sk_test_ or sk_live_ prefix; make one with: echo \"sk_test_$(openssl rand -hex 32)\"", problem, minDevKeyChars)
}

const base64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
