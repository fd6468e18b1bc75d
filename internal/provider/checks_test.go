package provider

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/mr-tron/base58"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver/registrytest"
)

// stateCheck adapts a function to statecheck.StateCheck.
type stateCheck func(attrs map[string]any) error

type funcStateCheck struct {
	addr string
	fn   stateCheck
}

func (c funcStateCheck) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	attrs, err := stateAttrs(req.State, c.addr)
	if err == nil {
		err = c.fn(attrs)
	}
	resp.Error = err
}

func checkAttrs(addr string, fn stateCheck) statecheck.StateCheck {
	return funcStateCheck{addr: addr, fn: fn}
}

// capture stores one attribute's value for a later step to compare.
func capture(addr, attr string, into *string) statecheck.StateCheck {
	return checkAttrs(addr, func(a map[string]any) error {
		s, _ := a[attr].(string)
		if s == "" {
			return fmt.Errorf("%s.%s is empty", addr, attr)
		}
		*into = s
		return nil
	})
}

func str(a map[string]any, k string) string { s, _ := a[k].(string); return s }

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// checkIdentityConsistent checks every attribute of a generate-mode identity
// against the others, the registry's record and, for the badge, an
// independent JOSE library verifying against the registry's served JWKS.
func checkIdentityConsistent(reg *registrytest.Registry, addr string) statecheck.StateCheck {
	return checkAttrs(addr, func(a map[string]any) error {
		priv, err := keys.ParsePrivatePEM(str(a, "private_key_pem"))
		if err != nil {
			return fmt.Errorf("private_key_pem: %w", err)
		}
		pub := priv.Public().(ed25519.PublicKey)
		if err := checkPublicAttrs(a, pub); err != nil {
			return err
		}
		for _, gone := range []string{"badge", "private_key_pem_env", "public_key_jwk", "public_key_multibase", "public_key_fingerprint_sha256"} {
			if _, ok := a[gone]; ok {
				return fmt.Errorf("state still has %s, which the version 1 schema no longer stores", gone)
			}
		}
		id := str(a, "id")
		if !uuidRe.MatchString(id) || str(a, "server_id") != id {
			return fmt.Errorf("id %q / server_id %q", id, str(a, "server_id"))
		}
		u, _ := url.Parse(reg.URL)
		if want := "did:web:" + strings.ReplaceAll(u.Host, ":", "%3A") + ":servers:" + id; str(a, "did") != want {
			return fmt.Errorf("did = %q, want %q", str(a, "did"), want)
		}
		if err := checkRegistryHolds(reg, id, pub, str(a, "did")); err != nil {
			return err
		}
		if err := checkEnv(a, reg.URL); err != nil {
			return err
		}
		if err := checkKeyTime(a); err != nil {
			return err
		}
		return checkBadgeFacts(reg, str(a, "did"), str(a, "badge_jti"), str(a, "badge_expires_at"))
	})
}

// checkBadgeFacts checks the recorded facts of the first badge against the
// registry's public status document of that jti: a live badge of this
// server's DID that expires when state says.
func checkBadgeFacts(reg *registrytest.Registry, did, jti, expiresAt string) error {
	if !uuidRe.MatchString(jti) {
		return fmt.Errorf("badge_jti %q is not a UUID", jti)
	}
	resp, body := regDo(reg, http.MethodGet, "/v1/badges/"+jti+"/status", nil)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("badge %s status: HTTP %d", jti, resp.StatusCode)
	}
	var st protocol.BadgeStatus
	if err := json.Unmarshal(body, &st); err != nil {
		return err
	}
	exp, err := time.Parse(time.RFC3339, expiresAt)
	switch {
	case err != nil:
		return fmt.Errorf("badge_expires_at %q: %w", expiresAt, err)
	case st.Sub != did || st.Revoked:
		return fmt.Errorf("badge %s: sub %q revoked %v, want sub %q not revoked", jti, st.Sub, st.Revoked, did)
	case st.ExpiresAt == nil || !st.ExpiresAt.Equal(exp):
		return fmt.Errorf("badge %s expires at %v, state says %s", jti, st.ExpiresAt, expiresAt)
	}
	return nil
}

// checkPublicAttrs checks the public encodings independently of internal/keys
// where a library allows: x509 for SPKI, base58 for did:key and multibase,
// go-jose for the thumbprint.
func checkPublicAttrs(a map[string]any, pub ed25519.PublicKey) error {
	block, _ := pem.Decode([]byte(str(a, "public_key_pem")))
	if block == nil || block.Type != "PUBLIC KEY" {
		return fmt.Errorf("public_key_pem is not an SPKI PEM")
	}
	parsed, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil || !pub.Equal(parsed) {
		return fmt.Errorf("public_key_pem does not match private_key_pem")
	}
	mb, _ := strings.CutPrefix(str(a, "did_key"), "did:key:")
	raw, err := base58.Decode(strings.TrimPrefix(mb, "z"))
	if err != nil || !strings.HasPrefix(mb, "z6Mk") || len(raw) != 34 || raw[0] != 0xed || raw[1] != 0x01 || !pub.Equal(ed25519.PublicKey(raw[2:])) {
		return fmt.Errorf("did_key %q does not encode the key", str(a, "did_key"))
	}
	jwk := jose.JSONWebKey{Key: pub}
	tp, err := jwk.Thumbprint(cryptoSHA256)
	if err != nil {
		return err
	}
	if want := b64url(tp); str(a, "key_id") != want {
		return fmt.Errorf("key_id %q, go-jose thumbprint %q", str(a, "key_id"), want)
	}
	return nil
}

func checkRegistryHolds(reg *registrytest.Registry, id string, pub ed25519.PublicKey, did string) error {
	resp, body := regDo(reg, http.MethodGet, "/v1/sdk/servers/"+id, nil)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("registry GET %s: HTTP %d", id, resp.StatusCode)
	}
	var env protocol.Envelope[protocol.Server]
	if err := json.Unmarshal(body, &env); err != nil {
		return err
	}
	got, err := keys.ParsePublicPEM(env.Data.PublicKey)
	if err != nil || !pub.Equal(got) {
		return fmt.Errorf("the registry's record %s holds another key", id)
	}
	if env.Data.DID != did || env.Data.Status != protocol.StatusActive {
		return fmt.Errorf("registry record did=%q status=%q", env.Data.DID, env.Data.Status)
	}
	return nil
}

func checkEnv(a map[string]any, registryURL string) error {
	env, _ := a["env"].(map[string]any)
	want := map[string]string{
		"CAPISCIO_SERVER_ID":              str(a, "id"),
		"CAPISCIO_SERVER_URL":             registryURL,
		"CAPISCIO_SERVER_PRIVATE_KEY_PEM": strings.ReplaceAll(str(a, "private_key_pem"), "\n", `\n`),
	}
	if d := str(a, "domain"); d != "" && d != protocol.DefaultDomain(registryURL) {
		want["CAPISCIO_SERVER_DOMAIN"] = d
	}
	if len(env) != len(want) {
		return fmt.Errorf("env has %d entries, want %d", len(env), len(want))
	}
	for k, v := range want {
		if env[k] != v {
			return fmt.Errorf("env[%s] is wrong", k)
		}
	}
	return nil
}

func checkKeyTime(a map[string]any) error {
	created, err := time.Parse(time.RFC3339, str(a, "key_created_at"))
	if err != nil {
		return fmt.Errorf("key_created_at: %w", err)
	}
	if n := serialOf(a); n < created.UnixMilli() {
		return fmt.Errorf("key_serial %d is below the milliseconds of key_created_at %d", n, created.UnixMilli())
	}
	return nil
}

// serialOf reads key_serial from state attributes.
func serialOf(a map[string]any) int64 {
	switch v := a["key_serial"].(type) {
	case json.Number:
		n, _ := v.Int64()
		return n
	case float64:
		return int64(v)
	}
	return 0
}

// verifyBadge verifies a badge with go-jose against the registry's JWKS,
// fetched over HTTP, and checks the claims a badge must carry (docs/design/protocol.md).
func verifyBadge(reg *registrytest.Registry, badge, did, jti, expiresAt string, pub ed25519.PublicKey) error {
	resp, body := regDo(reg, http.MethodGet, "/.well-known/jwks.json", nil)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("JWKS: HTTP %d", resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil || len(set.Keys) == 0 {
		return fmt.Errorf("JWKS does not decode: %v", err)
	}
	sig, err := jose.ParseSignedCompact(badge, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		return fmt.Errorf("badge is not a compact EdDSA JWS: %w", err)
	}
	payload, err := sig.Verify(set.Keys[0].Key)
	if err != nil {
		return fmt.Errorf("badge does not verify against the registry's first JWKS key: %w", err)
	}
	if kid := sig.Signatures[0].Header.KeyID; kid != set.Keys[0].KeyID {
		return fmt.Errorf("badge kid %q != JWKS kid %q", kid, set.Keys[0].KeyID)
	}
	var c struct {
		JTI string `json:"jti"`
		Iss string `json:"iss"`
		Sub string `json:"sub"`
		Exp int64  `json:"exp"`
		Iat int64  `json:"iat"`
		IAL string `json:"ial"`
		Key struct {
			Kty, Crv, X string
		} `json:"key"`
		VC struct {
			Type              []string `json:"type"`
			CredentialSubject struct {
				Level string `json:"level"`
			} `json:"credentialSubject"`
		} `json:"vc"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return err
	}
	exp, _ := time.Parse(time.RFC3339, expiresAt)
	switch {
	case c.Sub != did:
		return fmt.Errorf("badge sub %q != did %q", c.Sub, did)
	case c.JTI != jti || !uuidRe.MatchString(c.JTI):
		return fmt.Errorf("badge jti %q, badge_jti %q", c.JTI, jti)
	case c.Exp != exp.Unix() || c.Exp <= c.Iat:
		return fmt.Errorf("badge exp %d, badge_expires_at %q", c.Exp, expiresAt)
	case c.Key.X != b64url(pub) || c.Key.Crv != "Ed25519":
		return fmt.Errorf("badge key claim is not the registered key")
	case c.IAL != "0" || c.VC.CredentialSubject.Level != "1" || len(c.VC.Type) != 2:
		return fmt.Errorf("badge claims ial=%q level=%q type=%v", c.IAL, c.VC.CredentialSubject.Level, c.VC.Type)
	case !strings.HasPrefix(c.Iss, "http"):
		return fmt.Errorf("badge iss %q", c.Iss)
	}
	return nil
}

// badgeRevoked asks the registry's public status route about a badge.
func badgeRevoked(reg *registrytest.Registry, jti string) (bool, string, error) {
	resp, body := regDo(reg, http.MethodGet, "/v1/badges/"+jti+"/status", nil)
	if resp.StatusCode != http.StatusOK {
		return false, "", fmt.Errorf("badge status %s: HTTP %d", jti, resp.StatusCode)
	}
	var st protocol.BadgeStatus
	if err := json.Unmarshal(body, &st); err != nil {
		return false, "", err
	}
	return st.Revoked, st.Reason, nil
}
