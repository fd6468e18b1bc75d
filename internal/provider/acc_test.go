package provider

import (
	"crypto/ed25519"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
)

// TestAccServerIdentity_Registry runs an identity's life cycle against a
// registry that is not started by the test: CAPISCIO_REGISTRY_URL (the
// hosted registry when unset) with CAPISCIO_API_KEY. It creates one server
// record named tf-acc-<random> and deletes it. It runs only with TF_ACC=1
// (make testacc); every other test of this package starts the local
// registry in-process and needs neither.
func TestAccServerIdentity_Registry(t *testing.T) {
	name := "tf-acc-" + strings.ToLower(strings.ReplaceAll(t.Name(), "_", "-"))[:12] + "-" + randomSuffix(t)
	config := fmt.Sprintf(`
resource "capiscio_server_identity" "test" {
  name = %q
}
`, name)
	resource.Test(t, resource.TestCase{
		PreCheck: func() {
			if os.Getenv("CAPISCIO_API_KEY") == "" {
				t.Fatal("acceptance tests need CAPISCIO_API_KEY (and CAPISCIO_REGISTRY_URL for a registry other than the hosted one)")
			}
		},
		ProtoV6ProviderFactories: testProviderFactories(nil),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testAddr, tfjsonpath.New("name"), knownvalue.StringExact(name)),
					statecheck.ExpectKnownValue(testAddr, tfjsonpath.New("status"), knownvalue.StringExact("active")),
					checkAttrs(testAddr, func(a map[string]any) error {
						priv, err := keys.ParsePrivatePEM(str(a, "private_key_pem"))
						if err != nil {
							return fmt.Errorf("private_key_pem: %w", err)
						}
						if !strings.HasPrefix(str(a, "did"), "did:web:") {
							return fmt.Errorf("did %q is not a did:web", str(a, "did"))
						}
						return checkPublicAttrs(a, priv.Public().(ed25519.PublicKey))
					}),
				},
			},
			{
				ResourceName:                         testAddr,
				ImportState:                          true,
				ImportStateVerify:                    true,
				ImportStateVerifyIdentifierAttribute: "id",
				// An import knows the record, not the private key or what
				// the first apply did.
				ImportStateVerifyIgnore: []string{"private_key_pem", "env", "issue_badge", "badge_jti", "badge_expires_at", "key_created_at", "key_serial", "timeouts"},
			},
		},
	})
}

// randomSuffix is 8 hex characters from a fresh key, so that two runs never
// share a record name.
func randomSuffix(t *testing.T) string {
	t.Helper()
	m, err := keys.NewMaterial(nil)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", m.Key[:4])
}
