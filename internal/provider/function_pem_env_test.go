package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"
)

// rfcPrivateEnv is rfcPrivatePEM in the env form.
const rfcPrivateEnv = `-----BEGIN PRIVATE KEY-----\n` + rfcPKCS8Body + `\n-----END PRIVATE KEY-----\n`

func TestPEMEnv(t *testing.T) {
	t.Parallel()
	cert := "-----BEGIN CERTIFICATE-----\nZmFrZSBjZXJ0aWZpY2F0ZQ==\n-----END CERTIFICATE-----\n"
	cases := map[string]struct {
		in, want, err string
	}{
		"private key":       {in: rfcPrivatePEM, want: rfcPrivateEnv},
		"no final newline":  {in: strings.TrimSuffix(rfcPrivatePEM, "\n"), want: rfcPrivateEnv},
		"surrounding space": {in: "\n\n  " + rfcPrivatePEM + " \n\n", want: rfcPrivateEnv},
		"crlf":              {in: strings.ReplaceAll(rfcPrivatePEM, "\n", "\r\n"), want: rfcPrivateEnv},
		"already env":       {in: rfcPrivateEnv, want: rfcPrivateEnv},
		"env no final":      {in: strings.TrimSuffix(rfcPrivateEnv, `\n`), want: rfcPrivateEnv},
		"public key":        {in: rfcPublicPEM, want: strings.ReplaceAll(rfcPublicPEM, "\n", `\n`)},
		"any block type":    {in: cert, want: strings.ReplaceAll(cert, "\n", `\n`)},
		"empty":             {in: "", err: "the value is empty"},
		"blank":             {in: " \n\t", err: "the value is empty"},
		"not pem":           {in: "hello", err: "not PEM"},
		"text before":       {in: "key:\n" + rfcPrivatePEM, err: "text before its -----BEGIN line"},
		"text after":        {in: rfcPrivatePEM + "extra", err: "text after its -----END line"},
		"two blocks":        {in: rfcPrivatePEM + rfcPublicPEM, err: "more than one PEM block"},
		"no end":            {in: "-----BEGIN PRIVATE KEY-----\n" + rfcPKCS8Body + "\n", err: "not a valid PEM block"},
		"mismatched end":    {in: strings.Replace(rfcPrivatePEM, "END PRIVATE", "END PUBLIC", 1), err: "not a valid PEM block"},
		"bad base64":        {in: strings.Replace(rfcPrivatePEM, "MC4C", "M!4C", 1), err: "not a valid PEM block"},
		"empty body":        {in: "-----BEGIN X-----\n-----END X-----\n", err: "empty body"},
		"escaped twice":     {in: strings.ReplaceAll(rfcPrivateEnv, `\n`, `\\n`), err: "escaped twice"},
		"stray backslash":   {in: strings.Replace(rfcPrivatePEM, "MC4C", `MC\4C`, 1), err: "backslash"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := pemEnv(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("pemEnv error = %v, want one containing %q", err, tc.err)
				}
				if strings.Contains(err.Error(), rfcPKCS8Body[:16]) {
					t.Fatalf("pemEnv error quotes the key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("pemEnv: %v", err)
			}
			if got != tc.want {
				t.Errorf("pemEnv = %q, want %q", got, tc.want)
			}
			if strings.ContainsAny(got, "\r\n") {
				t.Errorf("pemEnv result has a line break: %q", got)
			}
		})
	}
}

func TestPEMEnvFunction_Known(t *testing.T) {
	functionTest(t, resource.TestStep{
		Config: fmt.Sprintf(`
output "plain" {
  value = provider::capiscio::pem_env(%[1]q)
}
output "env" {
  value = provider::capiscio::pem_env(%[2]q)
}
output "public" {
  value = provider::capiscio::pem_env(%[3]q)
}
`, rfcPrivatePEM, rfcPrivateEnv, rfcPublicPEM),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownOutputValue("plain", knownvalue.StringExact(rfcPrivateEnv)),
			statecheck.ExpectKnownOutputValue("env", knownvalue.StringExact(rfcPrivateEnv)),
			statecheck.ExpectKnownOutputValue("public", knownvalue.StringExact(strings.ReplaceAll(rfcPublicPEM, "\n", `\n`))),
		},
	})
}

// TestPEMEnvFunction_KeepsSensitivity proves what the docs promise: a function
// cannot be marked sensitive, but Terraform carries the mark of a sensitive
// argument to the result, so an output of it must say sensitive = true.
func TestPEMEnvFunction_KeepsSensitivity(t *testing.T) {
	config := func(outputSensitive bool) string {
		return fmt.Sprintf(`
variable "key" {
  type      = string
  sensitive = true
  default   = %[1]q
}
output "test" {
  value     = provider::capiscio::pem_env(var.key)
  sensitive = %[2]t
}
`, rfcPrivatePEM, outputSensitive)
	}
	functionTest(t,
		resource.TestStep{
			Config:      config(false),
			ExpectError: regexp.MustCompile(`Output refers to sensitive values`),
		},
		resource.TestStep{
			Config: config(true),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("test", knownvalue.StringExact(rfcPrivateEnv)),
				checkOutputSensitive("test"),
			},
		},
	)
}

// checkOutputSensitive checks that the state marks an output sensitive.
func checkOutputSensitive(name string) statecheck.StateCheck {
	return sensitiveOutputCheck(name)
}

type sensitiveOutputCheck string

func (c sensitiveOutputCheck) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	if req.State == nil || req.State.Values == nil || req.State.Values.Outputs[string(c)] == nil {
		resp.Error = fmt.Errorf("output %s is not in state", string(c))
		return
	}
	if !req.State.Values.Outputs[string(c)].Sensitive {
		resp.Error = fmt.Errorf("output %s is not sensitive", string(c))
	}
}

// TestPEMEnvFunction_MatchesResource checks that pem_env of the resource's
// private_key_pem is what env hands to CAPISCIO_SERVER_PRIVATE_KEY_PEM.
func TestPEMEnvFunction_MatchesResource(t *testing.T) {
	reg := testRegistry(t)
	unitTest(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_8_0)},
		ProtoV6ProviderFactories: testProviderFactories(nil),
		Steps: []resource.TestStep{{
			Config: testIdentityConfig(reg, `name = "pem-env"`) + `
output "same" {
  value = nonsensitive(provider::capiscio::pem_env(capiscio_server_identity.test.private_key_pem) == capiscio_server_identity.test.env["CAPISCIO_SERVER_PRIVATE_KEY_PEM"])
}
`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("same", knownvalue.Bool(true)),
			},
		}},
	})
}

func TestPEMEnvFunction_Invalid(t *testing.T) {
	cases := []struct{ arg, text string }{
		{`"not a pem"`, "the value is not PEM"},
		{fmt.Sprintf("%q", rfcPrivatePEM+rfcPublicPEM), "more than one PEM block"},
		{fmt.Sprintf("%q", rfcPrivatePEM+"# comment"), "text after its -----END line"},
		{fmt.Sprintf("%q", strings.TrimSuffix(rfcPrivatePEM, "-----END PRIVATE KEY-----\n")), "not a valid PEM block"},
	}
	var steps []resource.TestStep
	for _, c := range cases {
		steps = append(steps, resource.TestStep{
			Config:      callOutput("pem_env", c.arg),
			ExpectError: argErrorRe("pem", c.text),
		})
	}
	functionTest(t, steps...)
}
