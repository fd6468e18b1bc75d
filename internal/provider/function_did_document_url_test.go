package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// functionTest runs provider-function steps through the real CLI. Functions
// need Terraform 1.8 or later, and no provider configuration.
func functionTest(t *testing.T, steps ...resource.TestStep) {
	t.Helper()
	unitTest(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_8_0)},
		ProtoV6ProviderFactories: testProviderFactories(nil),
		Steps:                    steps,
	})
}

// argErrorRe matches Terraform's report of a function argument error:
// `Invalid value for "<param>" parameter: <text>`, with the text's words
// separated by any whitespace (Terraform wraps long messages).
func argErrorRe(param, text string) *regexp.Regexp {
	words := strings.Fields(text)
	for i, w := range words {
		words[i] = regexp.QuoteMeta(w)
	}
	return regexp.MustCompile(fmt.Sprintf(`Invalid value for "%s" parameter:(?s:.*?)%s`, param, strings.Join(words, `\s+`)))
}

// callOutput is a config with one output "test" calling fn on arg (HCL).
func callOutput(fn, arg string) string {
	return fmt.Sprintf("output \"test\" {\n  value = provider::capiscio::%s(%s)\n}\n", fn, arg)
}

func TestDIDDocumentURLFunction_Known(t *testing.T) {
	const id = "550e8400-e29b-41d4-a716-446655440000"
	cases := []struct{ did, want string }{
		{"did:web:registry.capisc.io:servers:" + id, "https://registry.capisc.io/servers/" + id + "/did.json"},
		{"did:web:localhost%3A8080:servers:abc", "http://localhost:8080/servers/abc/did.json"},
		{"did:web:127.0.0.1%3A41234:servers:" + id, "http://127.0.0.1:41234/servers/" + id + "/did.json"},
		{"did:web:example.com%3A3000:user:alice", "https://example.com:3000/user/alice/did.json"},
		{"did:web:w3c-ccg.github.io", "https://w3c-ccg.github.io/.well-known/did.json"},
	}
	var config strings.Builder
	var checks []statecheck.StateCheck
	for i, c := range cases {
		fmt.Fprintf(&config, "output \"url%d\" {\n  value = provider::capiscio::did_document_url(%q)\n}\n", i, c.did)
		checks = append(checks, statecheck.ExpectKnownOutputValue(fmt.Sprintf("url%d", i), knownvalue.StringExact(c.want)))
	}
	functionTest(t, resource.TestStep{Config: config.String(), ConfigStateChecks: checks})
}

// TestDIDDocumentURLFunction_LocalRegistry checks the function against a real
// DID of the local registry: the URL it gives is where the registry serves the
// document of that DID.
func TestDIDDocumentURLFunction_LocalRegistry(t *testing.T) {
	reg := testRegistry(t)
	unitTest(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_8_0)},
		ProtoV6ProviderFactories: testProviderFactories(nil),
		Steps: []resource.TestStep{{
			Config: testIdentityConfig(reg, `name = "did-document-url"`) + `
output "url" {
  value = provider::capiscio::did_document_url(capiscio_server_identity.test.did)
}
output "did" {
  value = capiscio_server_identity.test.did
}
output "want" {
  value = "${capiscio_server_identity.test.registry_url}/servers/${capiscio_server_identity.test.id}/did.json"
}
`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("url", knownvalue.StringRegexp(regexp.MustCompile(`^http://127\.0\.0\.1:\d+/servers/[0-9a-f-]{36}/did\.json$`))),
				checkOutputsEqual("url", "want"),
				checkOutputDocument("url", "did"),
			},
		}},
	})
}

// outputCheck adapts a function of the state's outputs to statecheck.StateCheck.
type outputCheck func(outputs map[string]any) error

func (c outputCheck) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	if req.State == nil || req.State.Values == nil {
		resp.Error = fmt.Errorf("no state")
		return
	}
	outputs := map[string]any{}
	for name, o := range req.State.Values.Outputs {
		outputs[name] = o.Value
	}
	resp.Error = c(outputs)
}

// checkOutputsEqual checks that two outputs hold the same value.
func checkOutputsEqual(a, b string) statecheck.StateCheck {
	return outputCheck(func(out map[string]any) error {
		if out[a] == nil || fmt.Sprint(out[a]) != fmt.Sprint(out[b]) {
			return fmt.Errorf("output %s = %v, output %s = %v", a, out[a], b, out[b])
		}
		return nil
	})
}

// checkOutputDocument fetches the URL in output urlOut, without an API key as
// a resolver would, and checks that it serves the DID document of output didOut.
func checkOutputDocument(urlOut, didOut string) statecheck.StateCheck {
	return outputCheck(func(out map[string]any) error {
		u, _ := out[urlOut].(string)
		resp, err := http.Get(u)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var doc protocol.DIDDocument
		if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: HTTP %d, %v", u, resp.StatusCode, err)
		}
		if doc.ID != out[didOut] {
			return fmt.Errorf("the document at %s is for %q, want %v", u, doc.ID, out[didOut])
		}
		return nil
	})
}

func TestDIDDocumentURLFunction_Invalid(t *testing.T) {
	cases := []struct{ arg, text string }{
		{`"did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw"`, "is a did:key, not a did:web"},
		{`"https://registry.capisc.io/servers/x"`, "is not a DID"},
		{`""`, "the DID is empty"},
		{`"did:web:"`, "has no host"},
		{`"did:web:%3A8080:servers:x"`, "has an empty host"},
		{`"did:web:localhost%3:x"`, "does not start a percent-escape"},
		{`"did:web:localhost%3A99999:x"`, "has an invalid port"},
		{`"did:web:example.com#key-1"`, "is a DID URL"},
	}
	var steps []resource.TestStep
	for _, c := range cases {
		steps = append(steps, resource.TestStep{
			Config:      callOutput("did_document_url", c.arg),
			ExpectError: argErrorRe("did", c.text),
		})
	}
	functionTest(t, steps...)
}
