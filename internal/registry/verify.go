package registry

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// Badge verification. A badge the registry hands out is believed only after
// it verified, the way a careful relying party would check it:
//
//   - a compact JWS signed with EdDSA (alg "none" or any other algorithm is
//     refused by go-jose before anything is read), by a key of the registry's
//     published key set: the key its header kid names, else the first key;
//   - sub is the server's did:web, and the key claim is the key registered on
//     the record (a badge for another server or key is not this one's);
//   - exp in the future and at most MaxBadgeLifetime away, iat and nbf not in
//     the future, with BadgeClockSkew of tolerance for clocks;
//   - a jti.
//
// The key set is fetched once per Client (one provider process, so one run)
// and again only when a badge names a kid it does not hold (a CA rotation).

// Limits of badge verification.
const (
	// MaxBadgeLifetime is the longest a badge may still be valid for when it
	// is checked; the protocol's badges live minutes (an hour at most).
	MaxBadgeLifetime = 24 * time.Hour
	// BadgeClockSkew is the tolerance for clocks that disagree, the 60 s the
	// badge specification allows.
	BadgeClockSkew = 60 * time.Second
)

// BadgeWant is what a badge must say about the server it was issued for.
type BadgeWant struct {
	// DID is the server's did:web, the badge's sub.
	DID string
	// Key is the key registered on the record, the badge's key claim.
	Key ed25519.PublicKey
}

// VerifiedBadge is what a badge that verified says.
type VerifiedBadge struct {
	JTI        string
	Subject    string
	IssuedAt   time.Time
	ExpiresAt  time.Time
	TrustLevel string
	// KeyID is the kid of the registry key that signed it.
	KeyID string
}

// BadgeError is a badge that did not verify. Its message says why and never
// quotes the token.
type BadgeError struct{ Reason string }

func (e *BadgeError) Error() string { return "the badge did not verify: " + e.Reason }

func badgeErr(format string, args ...any) error {
	return &BadgeError{Reason: fmt.Sprintf(format, args...)}
}

// badgeClaims are the claims a badge is checked against beyond the standard ones.
type badgeClaims struct {
	Key struct {
		Kty string `json:"kty"`
		Crv string `json:"crv"`
		X   string `json:"x"`
	} `json:"key"`
	VC struct {
		CredentialSubject struct {
			Level json.RawMessage `json:"level"`
		} `json:"credentialSubject"`
	} `json:"vc"`
}

// VerifyBadge verifies token as described above and returns what it says.
func (c *Client) VerifyBadge(ctx context.Context, token string, want BadgeWant) (*VerifiedBadge, error) {
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		return nil, badgeErr("it is not a compact JWS signed with EdDSA (%s)", jwsProblem(err))
	}
	if len(tok.Headers) != 1 {
		return nil, badgeErr("it has %d signatures, want one", len(tok.Headers))
	}
	kid := tok.Headers[0].KeyID
	key, err := c.registryKey(ctx, kid)
	if err != nil {
		return nil, err
	}
	var std jwt.Claims
	var extra badgeClaims
	if err := tok.Claims(key.Key, &std, &extra); err != nil {
		return nil, badgeErr("its signature does not verify against the registry's key %q", key.KeyID)
	}
	now := c.now()
	if err := std.ValidateWithLeeway(jwt.Expected{Subject: want.DID, Time: now}, BadgeClockSkew); err != nil {
		return nil, badgeErr("%s", claimProblem(err, std, want))
	}
	switch {
	case std.Expiry == nil || std.IssuedAt == nil:
		return nil, badgeErr("it has no exp or no iat")
	case std.Expiry.Time().After(now.Add(MaxBadgeLifetime)):
		return nil, badgeErr("it claims to be valid until %s, more than %s from now", std.Expiry.Time().UTC().Format(time.RFC3339), MaxBadgeLifetime)
	case !std.IssuedAt.Time().Before(std.Expiry.Time()):
		return nil, badgeErr("it expires before it was issued")
	case std.ID == "":
		return nil, badgeErr("it has no jti")
	case extra.Key.Kty != "OKP" || extra.Key.Crv != "Ed25519" || extra.Key.X != base64.RawURLEncoding.EncodeToString(want.Key):
		return nil, badgeErr("its key claim is not the key registered on the record")
	}
	return &VerifiedBadge{
		JTI: std.ID, Subject: std.Subject, IssuedAt: std.IssuedAt.Time().UTC(), ExpiresAt: std.Expiry.Time().UTC(),
		TrustLevel: levelText(extra.VC.CredentialSubject.Level), KeyID: key.KeyID,
	}, nil
}

// jwsProblem names what is wrong with a token that does not parse, without
// quoting it (go-jose's messages can echo input).
func jwsProblem(err error) string {
	if errors.Is(err, jose.ErrUnsupportedAlgorithm) {
		return "its alg is not EdDSA"
	}
	return "malformed"
}

// claimProblem turns a go-jose claim validation error into words.
func claimProblem(err error, std jwt.Claims, want BadgeWant) string {
	switch {
	case errors.Is(err, jwt.ErrInvalidSubject):
		return fmt.Sprintf("its sub %q is not the server's DID %s", clip(std.Subject, 120), want.DID)
	case errors.Is(err, jwt.ErrExpired):
		return "it has expired"
	case errors.Is(err, jwt.ErrNotValidYet):
		return "it is not valid yet (nbf in the future)"
	case errors.Is(err, jwt.ErrIssuedInTheFuture):
		return "it was issued in the future (iat)"
	}
	return "its claims are invalid"
}

func levelText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// keySetCache holds the registry's published key set for one Client.
type keySetCache struct {
	mu  sync.Mutex
	set *jose.JSONWebKeySet
}

// registryKey returns the registry's signing key with this kid, or its first
// key when kid is empty, fetching the key set when it is not cached or does
// not hold the kid.
func (c *Client) registryKey(ctx context.Context, kid string) (*jose.JSONWebKey, error) {
	c.keys.mu.Lock()
	defer c.keys.mu.Unlock()
	for fetched := false; ; fetched = true {
		if c.keys.set != nil {
			if k := pickKey(c.keys.set, kid); k != nil {
				return k, nil
			}
		}
		if fetched {
			if kid == "" {
				return nil, badgeErr("the registry's key set at %s has no key", protocol.PathJWKS)
			}
			return nil, badgeErr("it names the signing key %q, which the registry's key set at %s does not hold", clip(kid, 80), protocol.PathJWKS)
		}
		set, err := c.keySet(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading the registry's key set to verify the badge: %w", err)
		}
		c.keys.set = set
	}
}

func pickKey(set *jose.JSONWebKeySet, kid string) *jose.JSONWebKey {
	if kid == "" {
		if len(set.Keys) > 0 {
			return &set.Keys[0]
		}
		return nil
	}
	if keys := set.Key(kid); len(keys) > 0 {
		return &keys[0]
	}
	return nil
}

// keySet reads the registry's published key set (public route).
func (c *Client) keySet(ctx context.Context) (*jose.JSONWebKeySet, error) {
	ctx = c.MaskSecrets(ctx)
	r := request{method: http.MethodGet, path: protocol.PathJWKS, retryable: true}
	rep, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	set, err := protocol.DecodeKeySet(rep.body)
	if err != nil {
		return nil, c.replyErr(r.method, r.path, err)
	}
	return set, nil
}
