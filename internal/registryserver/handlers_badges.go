package registryserver

import (
	"net/http"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/capiscio/terraform-provider-capiscio/internal/registry"
	"github.com/google/uuid"
)

// Badge claim values (PROTOCOL.md A4, B6.2).
const (
	badgeIAL            = "0" // account-attested: the API key vouches for the key
	issuanceProfile     = "registered"
	maxReasonRunes      = 200
	maxDomainLen        = 253
	vcTypeCredential    = "VerifiableCredential"
	vcTypeAgentIdentity = "AgentIdentity"
)

// domainPattern accepts a host name or IPv4 address with an optional port,
// which is what the runtime SDK sends (for example "localhost:8080").
var domainPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$`)

// badgeClaims are the JWT claims of a server badge, in RFC-002 v1.4 order.
type badgeClaims struct {
	JTI string       `json:"jti"`
	Iss string       `json:"iss"`
	Sub string       `json:"sub"`
	Iat int64        `json:"iat"`
	Exp int64        `json:"exp"`
	Nbf int64        `json:"nbf"`
	IAL string       `json:"ial"`
	Key registry.JWK `json:"key"`
	VC  badgeVC      `json:"vc"`
}

type badgeVC struct {
	Type              []string          `json:"type"`
	CredentialSubject credentialSubject `json:"credentialSubject"`
}

type credentialSubject struct {
	Level           string `json:"level"`
	Domain          string `json:"domain,omitempty"`
	IssuanceProfile string `json:"issuance_profile"`
}

// issueBadge handles POST /v1/sdk/servers/{id}/badge with {}, {"domain":...}
// or an empty body: 201 with a CA-signed badge for the registered key.
func (s *Server) issueBadge(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	var req registry.BadgeRequest
	if err := decodeBody(w, r, &req, true); err != nil {
		return err
	}
	domain, err := cleanDomain(req.Domain)
	if err != nil {
		return err
	}
	rec, badge, err := s.store.issueBadge(badgeIssue{
		org: orgOf(r), id: id, jti: uuid.NewString(), subject: s.DID(id),
		domain: domain, now: s.now(), ttl: s.ttl,
	})
	if err != nil {
		return err
	}
	token, err := s.ca.sign(s.claims(rec, badge))
	if err != nil {
		return err
	}
	return ok(w, http.StatusCreated, registry.Badge{
		Badge: token, Token: token, JTI: badge.JTI, Subject: badge.Subject,
		TrustLevel: rec.TrustLevel, ExpiresAt: badge.ExpiresAt,
	})
}

// claims builds the badge claims from the stored server record (never from
// the request): key is the registered key, domain the stored domain, which
// issueBadge has just set from the request when one was sent.
func (s *Server) claims(rec serverRecord, badge badgeRecord) badgeClaims {
	return badgeClaims{
		JTI: badge.JTI,
		Iss: s.issuer,
		Sub: badge.Subject,
		Iat: badge.IssuedAt.Unix(),
		Exp: badge.ExpiresAt.Unix(),
		Nbf: badge.IssuedAt.Unix(),
		IAL: badgeIAL,
		Key: registry.JWK{Kty: jwkKty, Crv: jwkCrv, X: b64(rec.PublicKey)},
		VC: badgeVC{
			Type: []string{vcTypeCredential, vcTypeAgentIdentity},
			CredentialSubject: credentialSubject{
				Level:           rec.TrustLevel,
				Domain:          rec.Domain,
				IssuanceProfile: issuanceProfile,
			},
		},
	}
}

// revokeBadge handles POST /v1/sdk/servers/badges/{jti}/revoke with an
// optional {"reason"}. A badge of another organisation's server is 404.
func (s *Server) revokeBadge(w http.ResponseWriter, r *http.Request) error {
	jti, err := pathUUID(r, "jti")
	if err != nil {
		return err
	}
	var req registry.RevokeRequest
	if err := decodeBody(w, r, &req, true); err != nil {
		return err
	}
	reason, err := cleanReason(req.Reason)
	if err != nil {
		return err
	}
	badge, err := s.store.revokeBadge(orgOf(r), jti, reason, s.now().UTC())
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, registry.RevokeReply{JTI: badge.JTI, Revoked: true, RevokedAt: *badge.RevokedAt})
}

// cleanDomain lowercases and checks a badge request domain; empty is allowed
// (renewals send {}).
func cleanDomain(domain string) (string, error) {
	domain = strings.ToLower(strings.TrimSpace(domain))
	if domain == "" {
		return "", nil
	}
	if len(domain) > maxDomainLen || !domainPattern.MatchString(domain) {
		return "", badRequest("domain %q is not a host name with an optional port, such as mcp.example.com or localhost:8080", clip(domain, 80))
	}
	return domain, nil
}

// cleanReason checks a revocation reason; empty becomes "revoked".
func cleanReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return registry.ReasonRevoked, nil
	}
	if !utf8.ValidString(reason) || strings.IndexFunc(reason, unicode.IsControl) >= 0 || utf8.RuneCountInString(reason) > maxReasonRunes {
		return "", badRequest("reason must be printable text of at most %d characters", maxReasonRunes)
	}
	return reason, nil
}
