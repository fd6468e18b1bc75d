package registryserver_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver/registrytest"
)

// verifiedBadge is a badge checked with go-jose against the served JWKS.
type verifiedBadge struct {
	header jose.Header
	typ    any
	claims map[string]any
}

// verifyBadge checks token's signature with go-jose (an independent JOSE
// implementation) against the JWKS fetched over HTTP, and returns its header
// and claims.
func verifyBadge(t testing.TB, reg *registrytest.Registry, token string) verifiedBadge {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(mustGet(t, reg, protocol.PathJWKS), &set); err != nil {
		t.Fatalf("decoding the JWKS with go-jose: %v", err)
	}
	sig, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatalf("go-jose cannot parse the badge: %v", err)
	}
	header := sig.Signatures[0].Header
	if len(set.Keys) == 0 || set.Keys[0].KeyID != header.KeyID {
		t.Fatalf("the badge kid %q is not the first JWKS key %+v", header.KeyID, set.Keys)
	}
	payload, err := sig.Verify(set.Keys[0].Key)
	if err != nil {
		t.Fatalf("go-jose rejects the badge signature: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return verifiedBadge{header: header, typ: header.ExtraHeaders["typ"], claims: claims}
}

func TestIssueBadge(t *testing.T) {
	t.Parallel()
	reg := start(t)
	cases := map[string]struct {
		storedDomain string // set by an earlier badge request
		body         any
		wantDomain   string
	}{
		"empty body":                 {body: nil},
		"empty object":               {body: map[string]string{}},
		"domain":                     {body: protocol.BadgeRequest{Domain: "mcp.example.com"}, wantDomain: "mcp.example.com"},
		"domain with port":           {body: protocol.BadgeRequest{Domain: "localhost:8080"}, wantDomain: "localhost:8080"},
		"renewal keeps domain":       {storedDomain: "kept.example.com", body: map[string]string{}, wantDomain: "kept.example.com"},
		"new domain replaces stored": {storedDomain: "old.example.com", body: protocol.BadgeRequest{Domain: "New.Example.com"}, wantDomain: "new.example.com"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			key := newKey(t)
			srv := createServer(t, reg, reg.APIKey, key, "badged")
			if tc.storedDomain != "" {
				issueBadge(t, reg, srv.ID, protocol.BadgeRequest{Domain: tc.storedDomain})
			}
			before := time.Now().Unix()
			got := issueBadge(t, reg, srv.ID, tc.body)

			if got.Badge == "" || got.Token != got.Badge {
				t.Fatalf("badge/token = %q/%q, want the same JWS twice", got.Badge, got.Token)
			}
			if got.Subject != srv.DID || got.TrustLevel != "1" {
				t.Errorf("subject/trustLevel = %q/%q, want %q/1", got.Subject, got.TrustLevel, srv.DID)
			}
			v := verifyBadge(t, reg, got.Badge)
			if v.header.Algorithm != "EdDSA" || v.typ != "JWT" || !strings.HasPrefix(v.header.KeyID, "capiscio-ca-") {
				t.Errorf("header alg/typ/kid = %q/%v/%q", v.header.Algorithm, v.typ, v.header.KeyID)
			}
			checkClaims(t, reg, v.claims, got, srv, key, tc.wantDomain, before)

			resp, raw := reg.Do(t, http.MethodGet, pathOf(protocol.PathServer, srv.ID), nil)
			wantStatus(t, resp, raw, http.StatusOK)
			if stored := decodeData[protocol.Server](t, raw).Domain; stored != tc.wantDomain {
				t.Errorf("stored domain = %q, want %q", stored, tc.wantDomain)
			}
		})
	}
}

// checkClaims checks the claims every badge carries (docs/design/protocol.md).
func checkClaims(t *testing.T, reg *registrytest.Registry, c map[string]any, b protocol.Badge, srv protocol.Server, key testKey, wantDomain string, notBefore int64) {
	t.Helper()
	u, _ := url.Parse(reg.URL)
	if c["iss"] != u.Scheme+"://"+u.Host {
		t.Errorf("iss = %v, want the origin %s", c["iss"], reg.URL)
	}
	if c["sub"] != srv.DID {
		t.Errorf("sub = %v, want %s", c["sub"], srv.DID)
	}
	if jti, _ := c["jti"].(string); jti != b.JTI || uuid.MustParse(b.JTI).Version() != 4 {
		t.Errorf("jti = %v (reply %q), want the same UUID v4", c["jti"], b.JTI)
	}
	iat, exp, nbf := c["iat"].(float64), c["exp"].(float64), c["nbf"].(float64)
	if int64(iat) < notBefore || exp-iat != 300 || nbf != iat {
		t.Errorf("iat/nbf/exp = %v/%v/%v, want nbf = iat >= %d and exp = iat + 300", iat, nbf, exp, notBefore)
	}
	if !b.ExpiresAt.Equal(time.Unix(int64(exp), 0)) {
		t.Errorf("expiresAt = %v, want exp %v", b.ExpiresAt, exp)
	}
	if c["ial"] != "0" {
		t.Errorf("ial = %#v, want the string \"0\"", c["ial"])
	}
	wantKey := map[string]any{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(key.pub)}
	if mustJSON(t, c["key"]) != mustJSON(t, wantKey) {
		t.Errorf("key = %v, want the registered key %v", c["key"], wantKey)
	}
	vc, _ := c["vc"].(map[string]any)
	if mustJSON(t, vc["type"]) != `["VerifiableCredential","AgentIdentity"]` {
		t.Errorf("vc.type = %v", vc["type"])
	}
	subject, _ := vc["credentialSubject"].(map[string]any)
	if subject["level"] != "1" || subject["issuance_profile"] != "registered" {
		t.Errorf("credentialSubject = %v, want level \"1\" (a string) and issuance_profile registered", subject)
	}
	if domain, _ := subject["domain"].(string); domain != wantDomain {
		t.Errorf("credentialSubject.domain = %q, want %q", domain, wantDomain)
	}
	if _, hasCnf := c["cnf"]; hasCnf {
		t.Errorf("an IAL-0 badge must not carry cnf")
	}
}

func TestIssueBadge_RotationRevokesOldBadge(t *testing.T) {
	t.Parallel()
	reg := start(t)
	oldKey, newer := newKey(t), newKey(t)
	srv := createServer(t, reg, reg.APIKey, oldKey, "rotating")
	old := issueBadge(t, reg, srv.ID, nil)
	if v := verifyBadge(t, reg, old.Badge); v.claims["key"].(map[string]any)["x"] != base64.RawURLEncoding.EncodeToString(oldKey.pub) {
		t.Fatalf("old badge key claim is not the old key")
	}
	rotate(t, reg, srv.ID, newer)
	fresh := issueBadge(t, reg, srv.ID, nil)

	if v := verifyBadge(t, reg, fresh.Badge); v.claims["key"].(map[string]any)["x"] != base64.RawURLEncoding.EncodeToString(newer.pub) {
		t.Errorf("new badge key claim is not the new key")
	}
	for _, path := range []string{protocol.PathBadgeStatus, protocol.PathServerBadgeStat} {
		st := decode[protocol.BadgeStatus](t, mustGet(t, reg, pathOf(path, old.JTI)))
		if !st.Revoked || st.Reason != protocol.ReasonKeyRotated || st.RevokedAt == nil || st.Sub != srv.DID {
			t.Errorf("%s for the old badge = %+v, want revoked, reason key_rotated", path, st)
		}
		st = decode[protocol.BadgeStatus](t, mustGet(t, reg, pathOf(path, fresh.JTI)))
		if st.Revoked {
			t.Errorf("%s for the new badge = %+v, want not revoked", path, st)
		}
	}
}

func TestIssueBadge_TTL(t *testing.T) {
	t.Parallel()
	reg := start(t, registrytest.WithBadgeTTL(90*time.Second))
	srv := createServer(t, reg, reg.APIKey, newKey(t), "short")
	v := verifyBadge(t, reg, issueBadge(t, reg, srv.ID, nil).Badge)
	if d := v.claims["exp"].(float64) - v.claims["iat"].(float64); d != 90 {
		t.Errorf("exp - iat = %v, want 90", d)
	}
}

func TestRevokeBadge(t *testing.T) {
	t.Parallel()
	reg := start(t)
	cases := map[string]struct {
		body       any
		wantReason string
	}{
		"no body":      {body: nil, wantReason: protocol.ReasonRevoked},
		"empty object": {body: map[string]string{}, wantReason: protocol.ReasonRevoked},
		"reason":       {body: protocol.RevokeRequest{Reason: "compromised"}, wantReason: "compromised"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := createServer(t, reg, reg.APIKey, newKey(t), "revoking")
			badge := issueBadge(t, reg, srv.ID, nil)

			resp, raw := reg.Do(t, http.MethodPost, pathOf(protocol.PathBadgeRevoke, badge.JTI), tc.body)
			wantStatus(t, resp, raw, http.StatusOK)
			reply := decodeData[protocol.RevokeReply](t, raw)
			if reply.JTI != badge.JTI || !reply.Revoked || reply.RevokedAt.IsZero() {
				t.Errorf("revoke reply = %+v", reply)
			}
			st := badgeStatus(t, reg, badge.JTI)
			if !st.Revoked || st.Reason != tc.wantReason || !st.RevokedAt.Equal(reply.RevokedAt) {
				t.Errorf("status = %+v, want revoked with reason %q at %v", st, tc.wantReason, reply.RevokedAt)
			}

			// Revoking again is idempotent: the first revocation stands.
			resp, raw = reg.Do(t, http.MethodPost, pathOf(protocol.PathBadgeRevoke, badge.JTI), protocol.RevokeRequest{Reason: "again"})
			wantStatus(t, resp, raw, http.StatusOK)
			if again := decodeData[protocol.RevokeReply](t, raw); !again.RevokedAt.Equal(reply.RevokedAt) {
				t.Errorf("second revoke moved revokedAt: %v -> %v", reply.RevokedAt, again.RevokedAt)
			}
		})
	}
}
