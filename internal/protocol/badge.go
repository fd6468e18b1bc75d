package protocol

import (
	"encoding/json"
	"strings"
)

// DecodeBadge decodes the reply to a badge request. The token is the first
// one found of data.badge, data.token, badge and token (the agent routes
// answer with a bare token). jti, subject, trust level and expiry come from
// the object that holds the token's siblings (data, else the reply), and
// what is missing there from the token's claims, read without verifying
// them: the client verifies the badge before it believes any of this.
// Errors never quote the token.
func DecodeBadge(body []byte) (*Badge, error) {
	var b Badge
	if err := DecodeReply(body, &b); err != nil {
		return nil, err
	}
	if b.Badge == "" {
		var top Badge
		if err := decodeTolerant(body, (*badgePlain)(&top), "the badge reply"); err != nil {
			return nil, err
		}
		b.Badge = firstNonEmpty(top.Badge, top.Token)
	}
	token := strings.TrimSpace(b.Badge)
	if token == "" {
		return nil, InvalidReply("the reply carries no badge (looked for data.badge, data.token, badge, token)")
	}
	b.Badge, b.Token = token, token
	// A padded segment is not a compact JWS, but its claims can still be read.
	jws, err := ParseCompactJWS(strings.ReplaceAll(token, "=", ""))
	if err != nil {
		return nil, InvalidReply("the badge is not a readable compact JWS: %s", err.Error())
	}
	fillFromClaims(&b, jws.Claims)
	switch {
	case b.JTI == "":
		return nil, InvalidReply("the badge has no jti, neither in the reply nor in its claims")
	case b.ExpiresAt.IsZero():
		return nil, InvalidReply("the badge has no expiry, neither in the reply nor in its claims")
	}
	return &b, nil
}

type badgePlain Badge

// fillFromClaims sets what the reply left out from the badge's claims; a
// claim of an unexpected type is left out too.
func fillFromClaims(b *Badge, claims map[string]json.RawMessage) {
	if b.JTI == "" {
		b.JTI, _ = textOf(claims["jti"])
	}
	if b.Subject == "" {
		b.Subject, _ = textOf(claims["sub"])
	}
	if b.ExpiresAt.IsZero() {
		if raw := nonNull(claims["exp"]); raw != nil {
			b.ExpiresAt, _ = timeOf(raw)
		}
	}
	if b.TrustLevel == "" {
		b.TrustLevel = TrustLevelClaim(claims)
	}
}

// TrustLevelClaim reads vc.credentialSubject.level from badge claims, as
// text (a number 2 gives "2"); "" when absent or not readable.
func TrustLevelClaim(claims map[string]json.RawMessage) string {
	vc, _ := objectOf(claims["vc"])
	subject, _ := objectOf(vc["credentialSubject"])
	level, _ := textOf(nonNull(subject["level"]))
	return level
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
