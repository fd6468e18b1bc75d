package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// TestBadInput_PlanTime checks that wrong provider and resource arguments
// fail at plan time, before any registry call, with the attribute named.
// The registry URL points at a closed port: a case that reached the network
// would fail differently.
func TestBadInput_PlanTime(t *testing.T) {
	t.Parallel()
	const okProvider = `
provider "capiscio" {
  registry_url = "http://127.0.0.1:9"
  api_key      = "sk_test_unused"
}
`
	resourceWith := func(body string) string {
		return okProvider + "resource \"capiscio_server_identity\" \"test\" {\n" + body + "\n}\n"
	}
	providerWith := func(body string) string {
		return "provider \"capiscio\" {\n" + body + "\n}\nresource \"capiscio_server_identity\" \"test\" {}\n"
	}
	cases := map[string]struct {
		config string
		want   string // regexp over the error output; always names the attribute
	}{
		"registry_url ftp":          {providerWith(`registry_url = "ftp://registry.example.com"`), `registry_url[\s\S]*https://`},
		"registry_url remote http":  {providerWith(`registry_url = "http://registry.example.com"`), `registry_url[\s\S]*loopback`},
		"registry_url relative":     {providerWith(`registry_url = "registry.capisc.io"`), `registry_url`},
		"registry_url query":        {providerWith(`registry_url = "https://registry.capisc.io/?x=1"`), `registry_url[\s\S]*query`},
		"registry_url fragment":     {providerWith(`registry_url = "https://registry.capisc.io/#top"`), `registry_url[\s\S]*fragment`},
		"registry_url user info":    {providerWith(`registry_url = "https://u:p@registry.capisc.io"`), `registry_url[\s\S]*user info`},
		"registry_url empty":        {providerWith(`registry_url = ""`), `registry_url[\s\S]*empty`},
		"api_key empty":             {providerWith(`api_key = ""`), `api_key`},
		"api_key whitespace":        {providerWith(`api_key = "   "`), `api_key`},
		"api_key newline":           {providerWith(`api_key = "sk_test_x\n"`), `api_key[\s\S]*whitespace`},
		"request_timeout word":      {providerWith(`request_timeout = "soon"`), `request_timeout[\s\S]*duration`},
		"request_timeout no unit":   {providerWith(`request_timeout = "30"`), `request_timeout`},
		"request_timeout negative":  {providerWith(`request_timeout = "-5s"`), `request_timeout`},
		"request_timeout too long":  {providerWith(`request_timeout = "2h"`), `request_timeout[\s\S]*maximum`},
		"max_retries negative":      {providerWith(`max_retries = -1`), `max_retries`},
		"max_retries too many":      {providerWith(`max_retries = 11`), `max_retries`},
		"server_id not uuid":        {resourceWith(`server_id = "my-server"`), `server_id[\s\S]*UUID`},
		"server_id empty":           {resourceWith(`server_id = ""`), `server_id`},
		"server_id braces":          {resourceWith(`server_id = "{550e8400-e29b-41d4-a716-446655440000}"`), `server_id[\s\S]*UUID`},
		"name empty":                {resourceWith(`name = ""`), `name`},
		"name whitespace":           {resourceWith(`name = "  "`), `name`},
		"name padded":               {resourceWith(`name = " search "`), `name[\s\S]*whitespace`},
		"name oversized":            {resourceWith(fmt.Sprintf("name = %q", string(make([]byte, 0))+repeat("n", 201))), `name`},
		"domain with scheme":        {resourceWith(`domain = "https://mcp.example.com"`), `domain[\s\S]*scheme`},
		"domain with path":          {resourceWith(`domain = "mcp.example.com/x"`), `domain`},
		"domain with space":         {resourceWith(`domain = "mcp example.com"`), `domain`},
		"domain bad port":           {resourceWith(`domain = "mcp.example.com:http"`), `domain[\s\S]*port`},
		"domain empty label":        {resourceWith(`domain = "mcp..example.com"`), `domain`},
		"timeouts create bad":       {resourceWith("timeouts {\n create = \"abc\"\n}"), `Duration[\s\S]*create = "abc"`},
		"rotation_triggers too big": {resourceWith("rotation_triggers = {" + manyTriggers(65) + "}"), `rotation_triggers`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testProviderFactories(nil),
				Steps: []resource.TestStep{{
					Config:      tc.config,
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(tc.want),
				}},
			})
		})
	}
}

func repeat(s string, n int) string {
	out := make([]byte, 0, n*len(s))
	for range n {
		out = append(out, s...)
	}
	return string(out)
}

func manyTriggers(n int) string {
	s := ""
	for i := range n {
		s += fmt.Sprintf("k%d = \"v\"\n", i)
	}
	return s
}

// TestMissingAPIKey fails only when the registry is needed, and the message
// names both the argument and the environment variable.
func TestMissingAPIKey(t *testing.T) {
	reg := testRegistry(t)
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
provider "capiscio" {
  registry_url = %q
}
resource "capiscio_server_identity" "test" {}
`, reg.URL),
			ExpectError: regexp.MustCompile(`Missing CapiscIO API Key[\s\S]*api_key[\s\S]*CAPISCIO_API_KEY`),
		}},
	})
}

// TestWrongAPIKey names what to fix (TestSecretHygiene proves the key is never echoed).
func TestWrongAPIKey(t *testing.T) {
	reg := testRegistry(t)
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
provider "capiscio" {
  registry_url = %q
  api_key      = "sk_test_wrong_key_value"
}
resource "capiscio_server_identity" "test" {}
`, reg.URL),
			ExpectError: regexp.MustCompile(`refused the API\s+key[\s\S]*api_key[\s\S]*CAPISCIO_API_KEY`),
		}},
	})
}

// TestGivenRecordMissing says which id is missing and what to do.
func TestGivenRecordMissing(t *testing.T) {
	reg := testRegistry(t)
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		Steps: []resource.TestStep{{
			Config:      testIdentityConfig(reg, `server_id = "550e8400-e29b-41d4-a716-446655440000"`),
			ExpectError: regexp.MustCompile(`Server Record Not Found[\s\S]*550e8400-e29b-41d4-a716-446655440000[\s\S]*server_id`),
		}},
	})
}
