package provider

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/echoprovider"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/registry"
)

// badgeEchoConfig adds an ephemeral badge for the test identity and hands it
// to the echo provider, whose resource stores what it is given: the only way
// a test can see an ephemeral value.
func badgeEchoConfig(body string) string {
	return `
ephemeral "capiscio_server_badge" "b" {
  server_id = capiscio_server_identity.test.id
` + body + `
}
provider "echo" {
  data = ephemeral.capiscio_server_badge.b
}
resource "echo" "b" {}
`
}

// TestServerBadgeEphemeral_Verifies opens a badge for an identity the
// resource made and verifies it independently: go-jose against the registry's
// served JWKS, sub = the identity's did, key = its registered key, and the
// other results equal to the token's own claims.
func TestServerBadgeEphemeral_Verifies(t *testing.T) {
	reg := testRegistry(t)
	factories := testProviderFactories(nil)
	factories["echo"] = echoprovider.NewProviderServer()
	var did, pubPEM, firstJTI string
	base := testIdentityConfig(reg, `name = "ephemeral-badge"`)
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_10_0)},
		Steps: []resource.TestStep{
			{
				Config: base,
				ConfigStateChecks: []statecheck.StateCheck{
					capture(testAddr, "did", &did), capture(testAddr, "public_key_pem", &pubPEM),
					capture(testAddr, "badge_jti", &firstJTI),
				},
			},
			{
				Config: base + badgeEchoConfig(""),
				ConfigStateChecks: []statecheck.StateCheck{
					checkAttrs("echo.b", func(a map[string]any) error {
						d, _ := a["data"].(map[string]any)
						pub, err := keys.ParsePublicPEM(pubPEM)
						if err != nil {
							return err
						}
						if str(d, "did") != did || str(d, "jti") == firstJTI {
							return fmt.Errorf("ephemeral badge did %q jti %q; want did %q and a new jti", str(d, "did"), str(d, "jti"), did)
						}
						if str(d, "domain") != registry.DefaultDomain(reg.URL) || str(d, "trust_level") != "1" {
							return fmt.Errorf("domain %q trust_level %q", str(d, "domain"), str(d, "trust_level"))
						}
						exp, err := time.Parse(time.RFC3339, str(d, "expires_at"))
						if err != nil || time.Until(exp) < time.Minute || time.Until(exp) > 10*time.Minute {
							return fmt.Errorf("expires_at %q is not about five minutes ahead: %v", str(d, "expires_at"), err)
						}
						return verifyBadge(reg, str(d, "badge"), did, str(d, "jti"), str(d, "expires_at"), pub)
					}),
				},
			},
		},
	})
}

// TestServerBadgeEphemeral_Errors: an unknown record is an error that names
// it; a malformed id fails at plan time on the argument.
func TestServerBadgeEphemeral_Errors(t *testing.T) {
	reg := testRegistry(t)
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_10_0)},
		Steps: []resource.TestStep{
			{
				Config: providerBlock(reg, "max_retries = 0") + `
ephemeral "capiscio_server_badge" "b" {
  server_id = "550e8400-e29b-41d4-a716-446655440000"
}
provider "capiscio" {
  alias   = "consumer"
  api_key = ephemeral.capiscio_server_badge.b.badge
}
`,
				ExpectError: regexp.MustCompile(`(?s)Unable to Issue Badge.*550e8400-e29b-41d4-a716-446655440000`),
			},
			{
				Config: providerBlock(reg, "") + `
ephemeral "capiscio_server_badge" "b" {
  server_id = "not-a-uuid"
}
`,
				ExpectError: regexp.MustCompile(`(?s)Invalid Server ID.*server_id`),
			},
		},
	})
}
