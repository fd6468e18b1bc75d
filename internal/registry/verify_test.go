package registry_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registry"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver/registrytest"
)

// TestVerifyBadge verifies real badges of the local registry and refuses
// forged or mismatched ones: each case names the part that must fail.
func TestVerifyBadge(t *testing.T) {
	t.Parallel()
	reg := registrytest.Start(t)
	c := newClient(t, reg)
	ctx := context.Background()
	mat, err := keys.NewMaterial(nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.CreateServer(ctx, protocol.CreateServerRequest{Name: "verify", DID: mat.DIDKey, PublicKey: mat.PEM}, "")
	if err != nil {
		t.Fatal(err)
	}
	badge, err := c.IssueBadge(ctx, s.ID, protocol.BadgeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	want := registry.BadgeWant{DID: s.DID, Key: mat.Key}
	got, err := c.VerifyBadge(ctx, badge.Badge, want)
	if err != nil {
		t.Fatalf("a real badge does not verify: %v", err)
	}
	if got.JTI != badge.JTI || got.Subject != s.DID || got.TrustLevel != "1" || !got.ExpiresAt.Equal(badge.ExpiresAt) {
		t.Fatalf("verified badge = %+v; reply said jti %s exp %s", got, badge.JTI, badge.ExpiresAt)
	}

	// A forger's key, and tokens built from the real badge's parts.
	_, forger, _ := ed25519.GenerateKey(nil)
	parts := strings.Split(badge.Badge, ".")
	var claims map[string]any
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	header := func() map[string]any {
		var h map[string]any
		raw, _ := base64.RawURLEncoding.DecodeString(parts[0])
		_ = json.Unmarshal(raw, &h)
		return h
	}
	with := func(k string, v any) map[string]any {
		out := map[string]any{}
		for key, val := range claims {
			out[key] = val
		}
		out[k] = v
		return out
	}
	other, _ := keys.NewMaterial(nil)
	cases := map[string]struct {
		token string
		want  registry.BadgeWant
		says  string
	}{
		"alg none": {token: unsigned(t, map[string]any{"alg": "none", "typ": "JWT"}, with("exp", 4102444800)), want: want, says: "EdDSA"},
		"forged signature, exp in 2100, the registry's kid": {
			token: sign(t, forger, header()["kid"].(string), with("exp", 4102444800)), want: want, says: "signature does not verify",
		},
		"unknown kid":        {token: sign(t, forger, "capiscio-ca-forged", claims), want: want, says: "does not hold"},
		"other server's DID": {token: badge.Badge, want: registry.BadgeWant{DID: strings.Replace(s.DID, s.ID, "0b6a3f2e-1c4d-4e5f-9a8b-7c6d5e4f3a2b", 1), Key: mat.Key}, says: "is not the server's DID"},
		"other key":          {token: badge.Badge, want: registry.BadgeWant{DID: s.DID, Key: other.Key}, says: "key claim"},
		"truncated":          {token: parts[0] + "." + parts[1], want: want, says: "compact JWS"},
		"signature bit flip": {token: parts[0] + "." + parts[1] + "." + flip(parts[2]), want: want, says: "signature does not verify"},
		"payload swapped in": {token: parts[0] + "." + base64.RawURLEncoding.EncodeToString(mustMarshal(t, with("sub", "did:web:evil.example:servers:x"))) + "." + parts[2], want: want, says: "signature does not verify"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := c.VerifyBadge(ctx, tc.token, tc.want)
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("VerifyBadge = %v; want an error saying %q", err, tc.says)
			}
			if strings.Contains(err.Error(), parts[2]) || strings.Contains(err.Error(), parts[1]) {
				t.Fatalf("the error quotes the token: %v", err)
			}
		})
	}
}

// TestVerifyBadge_Times: a badge the registry issued with another clock is
// refused when it has expired or is not valid yet; the key set is fetched
// once per client.
func TestVerifyBadge_Times(t *testing.T) {
	t.Parallel()
	for name, shift := range map[string]time.Duration{"expired": -2 * time.Hour, "from the future": 2 * time.Hour} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			reg := registrytest.Start(t, registrytest.WithNow(func() time.Time { return time.Now().Add(shift) }))
			c := newClient(t, reg)
			ctx := context.Background()
			mat, _ := keys.NewMaterial(nil)
			s, err := c.CreateServer(ctx, protocol.CreateServerRequest{DID: mat.DIDKey, PublicKey: mat.PEM}, "")
			if err != nil {
				t.Fatal(err)
			}
			reg.Server.ResetStats()
			for range 3 {
				b, err := c.IssueBadge(ctx, s.ID, protocol.BadgeRequest{})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := c.VerifyBadge(ctx, b.Badge, registry.BadgeWant{DID: s.DID, Key: mat.Key}); err == nil {
					t.Fatalf("a badge issued %s off verified", shift)
				}
			}
			if n := reg.Server.Stats().ByRoute["GET "+protocol.PathJWKS]; n != 1 {
				t.Fatalf("the key set was fetched %d times for 3 badges, want once", n)
			}
		})
	}
}

func sign(t *testing.T, key ed25519.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign(mustMarshal(t, claims))
	if err != nil {
		t.Fatal(err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func unsigned(t *testing.T, header, claims map[string]any) string {
	t.Helper()
	return base64.RawURLEncoding.EncodeToString(mustMarshal(t, header)) + "." + base64.RawURLEncoding.EncodeToString(mustMarshal(t, claims)) + "."
}

func flip(sig string) string {
	b, _ := base64.RawURLEncoding.DecodeString(sig)
	b[0] ^= 1
	return base64.RawURLEncoding.EncodeToString(b)
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
