package registryserver

import (
	"crypto/ed25519"
	"net/http"
	"strings"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// Badge claim values.
const (
	badgeIAL            = "0" // account-attested: the API key vouches for the key
	issuanceProfile     = "registered"
	vcTypeCredential    = "VerifiableCredential"
	vcTypeAgentIdentity = "AgentIdentity"
)

// badgeClaims are the JWT claims of a server badge, in RFC-002 v1.4 order.
type badgeClaims struct {
	JTI string          `json:"jti"`
	Iss string          `json:"iss"`
	Sub string          `json:"sub"`
	Iat int64           `json:"iat"`
	Exp int64           `json:"exp"`
	Nbf int64           `json:"nbf"`
	IAL string          `json:"ial"`
	Key jose.JSONWebKey `json:"key"`
	VC  badgeVC         `json:"vc"`
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
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req protocol.BadgeRequest
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
	return ok(w, http.StatusCreated, protocol.Badge{
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
		Key: jose.JSONWebKey{Key: ed25519.PublicKey(rec.PublicKey)},
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
	jti, err := pathJTI(r)
	if err != nil {
		return err
	}
	var req protocol.RevokeRequest
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
	return ok(w, http.StatusOK, protocol.RevokeReply{JTI: badge.JTI, Revoked: true, RevokedAt: *badge.RevokedAt})
}

// cleanDomain trims and canonicalises a badge request domain
// (protocol.CanonicalDomain); empty is allowed (renewals send {}).
func cleanDomain(domain string) (string, error) {
	domain = strings.TrimSpace(domain)
	if domain == "" {
		return "", nil
	}
	canonical, err := protocol.CanonicalDomain(domain)
	if err != nil {
		return "", badRequest("domain %s", strings.TrimPrefix(err.Error(), "the domain "))
	}
	return canonical, nil
}

// cleanReason checks a revocation reason (protocol.CheckText); empty
// becomes "revoked".
func cleanReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return protocol.ReasonRevoked, nil
	}
	if err := protocol.CheckText(reason, "reason", protocol.MaxReasonRunes); err != nil {
		return "", badRequest("%s", err.Error())
	}
	return reason, nil
}
