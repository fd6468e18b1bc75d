package provider

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"
)

// RFC 8032 section 7.1 test 1, the published vector (a published test
// vector, the only private key committed in clear).
const (
	rfcSPKIBody   = "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
	rfcPKCS8Body  = "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g"
	rfcPublicPEM  = "-----BEGIN PUBLIC KEY-----\n" + rfcSPKIBody + "\n-----END PUBLIC KEY-----\n"
	rfcPrivatePEM = "-----BEGIN PRIVATE KEY-----\n" + rfcPKCS8Body + "\n-----END PRIVATE KEY-----\n"
	rfcDIDKey     = "did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw"
	// RFC 8037 appendix A.3 gives this thumbprint for the same key.
	rfcThumbprint = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
)

// didKeyRe matches an Ed25519 did:key (48 base58 digits after the z).
var didKeyRe = regexp.MustCompile(`^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]{44}$`)

func TestDIDKeyFunction_RFC8032Vector(t *testing.T) {
	functionTest(t, resource.TestStep{
		Config: fmt.Sprintf(`
output "heredoc" {
  value = provider::capiscio::did_key(<<-EOT
    %[1]s
    EOT
  )
}
output "env_form" {
  value = provider::capiscio::did_key(%[2]q)
}
output "crlf" {
  value = provider::capiscio::did_key(%[3]q)
}
`, strings.ReplaceAll(strings.TrimSpace(rfcPublicPEM), "\n", "\n    "), strings.ReplaceAll(rfcPublicPEM, "\n", `\n`), strings.ReplaceAll(rfcPublicPEM, "\n", "\r\n")),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownOutputValue("heredoc", knownvalue.StringExact(rfcDIDKey)),
			statecheck.ExpectKnownOutputValue("env_form", knownvalue.StringExact(rfcDIDKey)),
			statecheck.ExpectKnownOutputValue("crlf", knownvalue.StringExact(rfcDIDKey)),
		},
	})
}

// TestDIDKeyFunction_MatchesResource checks that the function gives the
// did_key the resource computes and registers.
func TestDIDKeyFunction_MatchesResource(t *testing.T) {
	reg := testRegistry(t)
	unitTest(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_8_0)},
		ProtoV6ProviderFactories: testProviderFactories(nil),
		Steps: []resource.TestStep{{
			Config: testIdentityConfig(reg, `name = "did-key"`) + `
output "computed" {
  value = provider::capiscio::did_key(capiscio_server_identity.test.public_key_pem)
}
output "exported" {
  value = capiscio_server_identity.test.did_key
}
`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("computed", knownvalue.StringRegexp(didKeyRe)),
				checkOutputsEqual("computed", "exported"),
			},
		}},
	})
}

func TestDIDKeyFunction_Invalid(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ecPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	cases := []struct{ arg, text string }{
		{fmt.Sprintf("%q", rfcPrivatePEM), "the PEM is a private key"},
		{fmt.Sprintf("%q", ecPEM), "ECDSA"},
		{fmt.Sprintf("%q", rfcDIDKey), "the value is a DID, not a PEM"},
		{`""`, "the value is empty"},
		{fmt.Sprintf("%q", rfcPublicPEM+"trailing"), "text after its -----END line"},
		{fmt.Sprintf("%q", strings.ReplaceAll(rfcPublicPEM, "PUBLIC KEY", "CERTIFICATE")), "certificate"},
	}
	var steps []resource.TestStep
	for _, c := range cases {
		steps = append(steps, resource.TestStep{
			Config:      callOutput("did_key", c.arg),
			ExpectError: argErrorRe("public_key_pem", c.text),
		})
	}
	functionTest(t, steps...)
}
