package provider

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// TestBadInput_PlanTime checks that hostile or mistaken provider and resource
// arguments fail at plan time (PlanOnly), before any registry call, with the
// attribute named in the error: malformed, truncated, encrypted and
// non-Ed25519 PEMs, PEMs with extra blocks or trailing data, wrong URLs and
// schemes, http to a non-loopback host, non-UUID ids, bad durations, empty and
// whitespace strings, oversized values, conflicting key custody arguments.
// The registry URL points at a closed port: a case that reached the network
// would fail differently.
func TestBadInput_PlanTime(t *testing.T) {
	t.Parallel()
	k := newTestKey(t)
	other := newTestKey(t)
	encrypted, err := os.ReadFile("../keys/testdata/encrypted_ed25519.pem")
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	ecPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}))
	rsaPub := "-----BEGIN PUBLIC KEY-----\nMFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf\n9Cnzj4p4WGeKLs1Pt8QuKUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQ==\n-----END PUBLIC KEY-----\n"
	badBase64 := strings.Replace(k.PEM, "MCowBQYDK2Vw", "MCowBQYDK2V!", 1)
	wo := func(v string) string { return fmt.Sprintf("private_key_wo = %q\nprivate_key_wo_version = 1", v) }
	external := func(v string) string { return fmt.Sprintf("external_public_key_pem = %q", v) }
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
		"registry_url relative":     {providerWith(`registry_url = "registry.capisc.io"`), `registry_url[\s\S]*no\s+scheme[\s\S]*https://registry.capisc.io`},
		"registry_url host:port":    {providerWith(`registry_url = "localhost:8080"`), `registry_url[\s\S]*no\s+scheme[\s\S]*https://localhost:8080`},
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
		"domain oversized":          {resourceWith(fmt.Sprintf("domain = %q", repeat("a", 250)+".com")), `domain`},
		"timeouts delete negative":  {resourceWith("timeouts {\n delete = \"-1m\"\n}"), `delete`},

		// Key custody: PEMs and conflicting arguments.
		"wo without version":     {resourceWith(fmt.Sprintf("private_key_wo = %q", k.PrivatePEM)), `private_key_wo_version[\s\S]*must be specified|private_key_wo[\s\S]*private_key_wo_version`},
		"version without wo":     {resourceWith("private_key_wo_version = 1"), `private_key_wo[\s\S]*must be specified|private_key_wo_version[\s\S]*private_key_wo`},
		"wo and external":        {resourceWith(wo(k.PrivatePEM) + "\n" + external(k.PEM)), `external_public_key_pem|private_key_wo`},
		"wo not a PEM":           {resourceWith(wo("hello")), `private_key_wo[\s\S]*not PEM`},
		"wo empty":               {resourceWith(wo("")), `private_key_wo`},
		"wo is a public key":     {resourceWith(wo(k.PEM)), `private_key_wo[\s\S]*public key`},
		"wo encrypted":           {resourceWith(wo(string(encrypted))), `private_key_wo[\s\S]*(?i)encrypted`},
		"wo is an EC key":        {resourceWith(wo(ecPEM)), `private_key_wo[\s\S]*Ed25519`},
		"wo truncated":           {resourceWith(wo(k.PrivatePEM[:50])), `private_key_wo[\s\S]*no\s+-----END\s+line[\s\S]*cut\s+off`},
		"wo trailing data":       {resourceWith(wo(k.PrivatePEM + "trailing")), `private_key_wo[\s\S]*text\s+after\s+its\s+-----END`},
		"wo two blocks":          {resourceWith(wo(k.PrivatePEM + other.PrivatePEM)), `private_key_wo[\s\S]*more\s+than\s+one\s+PEM\s+block`},
		"external is private":    {resourceWith(external(k.PrivatePEM)), `external_public_key_pem[\s\S]*private key`},
		"external is RSA":        {resourceWith(external(rsaPub)), `external_public_key_pem[\s\S]*RSA`},
		"external truncated":     {resourceWith(external(k.PEM[:40])), `external_public_key_pem`},
		"external trailing junk": {resourceWith(external(k.PEM + "junk")), `external_public_key_pem`},
		"external two blocks":    {resourceWith(external(k.PEM + other.PEM)), `external_public_key_pem[\s\S]*more\s+than\s+one\s+PEM\s+block`},
		"external bad base64":    {resourceWith(external(badBase64)), `external_public_key_pem[\s\S]*base64\s+body[\s\S]*does\s+not\s+decode`},
		"external whitespace":    {resourceWith(external("  \n ")), `external_public_key_pem`},
		"external oversized":     {resourceWith(external(k.PEM + repeat("A", 70000))), `external_public_key_pem`},
		// The examples an error gives are valid values of the argument.
		"rotate_after word":      {resourceWith(`rotate_after = "monthly"`), `rotate_after[\s\S]*duration[\s\S]*"90d"\s+or\s+"720h"`},
		"rotate_after too short": {resourceWith(`rotate_after = "30s"`), `rotate_after[\s\S]*minimum[\s\S]*"90d"\s+or\s+"720h"`},
		"rotate_after zero":      {resourceWith(`rotate_after = "0d"`), `rotate_after`},
		"rotate_after empty":     {resourceWith(`rotate_after = ""`), `rotate_after`},
	}
	if len(cases) < 50 {
		t.Fatalf("only %d cases", len(cases))
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

// TestGivenRecordMissing says, at plan time, which id is missing and what to
// do; a record of another organisation is named as such.
func TestGivenRecordMissing(t *testing.T) {
	reg := testRegistry(t)
	other := registryCreateWithKey(t, reg, reg.SecondOrgKey(t))
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		Steps: []resource.TestStep{
			{
				Config:      testIdentityConfig(reg, `server_id = "550e8400-e29b-41d4-a716-446655440000"`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`Server Record Not Found[\s\S]*550e8400-e29b-41d4-a716-446655440000[\s\S]*server_id`),
			},
			{
				Config:      testIdentityConfig(reg, fmt.Sprintf(`server_id = %q`, other.ID)),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`Server Record Belongs to Another Organisation[\s\S]*` + other.ID),
			},
		},
	})
}

// TestHTTPSToPlainHTTP: an https:// URL on the local registry's plain-http
// port fails at once (no retries) and says to use http://.
func TestHTTPSToPlainHTTP(t *testing.T) {
	reg := testRegistry(t)
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
provider "capiscio" {
  registry_url = %q
  api_key      = %q
  max_retries  = 4
}
resource "capiscio_server_identity" "test" {}
`, strings.Replace(reg.URL, "http://", "https://", 1), reg.APIKey),
			ExpectError: regexp.MustCompile(`plain HTTP to an HTTPS request[\s\S]*http://[\s\S]*after 1 attempt`),
		}},
	})
}
