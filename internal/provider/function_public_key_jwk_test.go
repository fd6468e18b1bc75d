package provider

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
)

// rfcJWKX is the RFC 8032 test key's x, as RFC 8037 appendix A.2 gives it.
const rfcJWKX = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"

// TestPublicKeyJWKFunction_RFC8037Vector: the RFC 8032 test key gives the
// JWK of RFC 8037 appendix A.2 with the thumbprint of A.3 as kid, in every
// spelling of the PEM.
func TestPublicKeyJWKFunction_RFC8037Vector(t *testing.T) {
	want := knownvalue.StringExact(`{"kty":"OKP","kid":"` + rfcThumbprint + `","crv":"Ed25519","x":"` + rfcJWKX + `"}`)
	functionTest(t, resource.TestStep{
		Config: fmt.Sprintf(`
output "plain" {
  value = provider::capiscio::public_key_jwk(%[1]q)
}
output "env_form" {
  value = provider::capiscio::public_key_jwk(%[2]q)
}
output "crlf" {
  value = provider::capiscio::public_key_jwk(%[3]q)
}
output "x" {
  value = jsondecode(provider::capiscio::public_key_jwk(%[1]q)).x
}
`, rfcPublicPEM, strings.ReplaceAll(rfcPublicPEM, "\n", `\n`), strings.ReplaceAll(rfcPublicPEM, "\n", "\r\n")),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownOutputValue("plain", want),
			statecheck.ExpectKnownOutputValue("env_form", want),
			statecheck.ExpectKnownOutputValue("crlf", want),
			statecheck.ExpectKnownOutputValue("x", knownvalue.StringExact(rfcJWKX)),
		},
	})
}

// TestPublicKeyJWKFunction_MatchesResource checks the function against an
// identity the resource made, with go-jose as the independent judge: the JWK
// decodes to the registered key and its thumbprint is the key_id.
func TestPublicKeyJWKFunction_MatchesResource(t *testing.T) {
	reg := testRegistry(t)
	unitTest(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_8_0)},
		ProtoV6ProviderFactories: testProviderFactories(nil),
		Steps: []resource.TestStep{{
			Config: testIdentityConfig(reg, `name = "jwk"`) + `
output "jwk" {
  value = provider::capiscio::public_key_jwk(capiscio_server_identity.test.public_key_pem)
}
output "public_key_pem" {
  value = capiscio_server_identity.test.public_key_pem
}
output "key_id" {
  value = capiscio_server_identity.test.key_id
}
`,
			ConfigStateChecks: []statecheck.StateCheck{
				outputCheck(func(out map[string]any) error {
					var k jose.JSONWebKey
					if err := json.Unmarshal([]byte(str(out, "jwk")), &k); err != nil {
						return fmt.Errorf("go-jose does not read the JWK: %w", err)
					}
					pub, err := keys.ParsePublicPEM(str(out, "public_key_pem"))
					if err != nil {
						return err
					}
					got, ok := k.Key.(ed25519.PublicKey)
					if !ok || !got.Equal(pub) || !k.Valid() || !k.IsPublic() {
						return fmt.Errorf("the JWK is not the registered public key")
					}
					tp, err := k.Thumbprint(cryptoSHA256)
					if err != nil || b64url(tp) != k.KeyID || k.KeyID != str(out, "key_id") {
						return fmt.Errorf("kid %q, go-jose thumbprint %q, key_id %q", k.KeyID, b64url(tp), str(out, "key_id"))
					}
					return nil
				}),
			},
		}},
	})
}

func TestPublicKeyJWKFunction_Invalid(t *testing.T) {
	cases := []struct{ arg, text string }{
		{`""`, "empty"},
		{fmt.Sprintf("%q", rfcPrivatePEM), "private key"},
		{`"not a key"`, "PEM"},
	}
	var steps []resource.TestStep
	for _, c := range cases {
		steps = append(steps, resource.TestStep{
			Config:      callOutput("public_key_jwk", c.arg),
			ExpectError: argErrorRe("public_key_pem", c.text),
		})
	}
	functionTest(t, steps...)
}
