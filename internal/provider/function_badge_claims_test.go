package provider

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// testToken builds a compact JWS from raw header and claims JSON, with a
// made-up signature: badge_claims never verifies it.
func testToken(header, claims string) string {
	return b64url([]byte(header)) + "." + b64url([]byte(claims)) + "." + b64url([]byte("not a real signature"))
}

const (
	testBadgeHeader = `{"alg":"EdDSA","typ":"JWT","kid":"capiscio-ca-1"}`
	testBadgeClaims = `{"jti":"6f1c1a3e-0c2b-4e4e-9d39-2b0f3f0f6a11","iss":"https://registry.capisc.io",` +
		`"sub":"did:web:registry.capisc.io:servers:550e8400-e29b-41d4-a716-446655440000",` +
		`"iat":1767225600,"exp":1767225900,"ial":"0","vc":{"type":["VerifiableCredential","AgentIdentity"],` +
		`"credentialSubject":{"level":"1","domain":"mcp.example.com"}}}`
)

func TestDecodeBadge(t *testing.T) {
	t.Parallel()
	str := func(s string) *string { return &s }
	num := func(f float64) string { return big.NewFloat(f).Text('f', 0) }
	type result struct {
		Header, Claims, JTI, Sub, Iss, TrustLevel *string
		Exp, Iat                                  string
	}
	cases := map[string]struct {
		token string
		want  result
		err   string
	}{
		"capiscio badge": {token: testToken(testBadgeHeader, testBadgeClaims), want: result{
			Header: str(testBadgeHeader), Claims: str(testBadgeClaims),
			JTI: str("6f1c1a3e-0c2b-4e4e-9d39-2b0f3f0f6a11"), Iss: str("https://registry.capisc.io"),
			Sub: str("did:web:registry.capisc.io:servers:550e8400-e29b-41d4-a716-446655440000"), TrustLevel: str("1"),
			Exp: num(1767225900), Iat: num(1767225600),
		}},
		"spaced json is compacted": {token: testToken(`{ "alg" : "ES256" }`, "{\n \"sub\": \"did:key:z6Mk\"\n}"), want: result{
			Header: str(`{"alg":"ES256"}`), Claims: str(`{"sub":"did:key:z6Mk"}`), Sub: str("did:key:z6Mk"),
		}},
		"absent claims are null": {token: testToken(`{"alg":"EdDSA"}`, `{}`), want: result{Header: str(`{"alg":"EdDSA"}`), Claims: str(`{}`)}},
		"null claims are null":   {token: testToken(`{"alg":"EdDSA"}`, `{"jti":null,"exp":null,"vc":null}`), want: result{Header: str(`{"alg":"EdDSA"}`), Claims: str(`{"jti":null,"exp":null,"vc":null}`)}},
		"vc without subject":     {token: testToken(`{"alg":"EdDSA"}`, `{"vc":{"type":[]}}`), want: result{Header: str(`{"alg":"EdDSA"}`), Claims: str(`{"vc":{"type":[]}}`)}},
		"fractional exp":         {token: testToken(`{"alg":"EdDSA"}`, `{"exp":1.5e3}`), want: result{Header: str(`{"alg":"EdDSA"}`), Claims: str(`{"exp":1.5e3}`), Exp: num(1500)}},

		"empty":            {token: "", err: "the badge is empty"},
		"whitespace":       {token: testToken(testBadgeHeader, testBadgeClaims) + "\n", err: "trailing whitespace"},
		"two parts":        {token: "a.b", err: "has 2 dot-separated part(s)"},
		"one part":         {token: "abc", err: "has 1 dot-separated part(s)"},
		"four parts":       {token: "a.b.c.d", err: "has 4 dot-separated part(s)"},
		"jwe":              {token: "a.b.c.d.e", err: "like an encrypted JWE"},
		"no signature":     {token: strings.TrimSuffix(testToken(testBadgeHeader, `{}`), b64url([]byte("not a real signature"))), err: "signature (part 3) is empty"},
		"empty header":     {token: "." + b64url([]byte(`{}`)) + ".c2ln", err: "header (part 1) is empty"},
		"padded":           {token: b64url([]byte(`{"alg":"EdDSA"}`)) + "=." + b64url([]byte(`{}`)) + ".c2ln", err: "= padding"},
		"std alphabet":     {token: b64url([]byte(`{"alg":"EdDSA"}`)) + ".ab+/.c2ln", err: "standard alphabet"},
		"bad base64":       {token: b64url([]byte(`{"alg":"EdDSA"}`)) + ".a!b.c2ln", err: "claims (part 2) is not unpadded base64url"},
		"header not json":  {token: testToken(`alg=EdDSA`, `{}`), err: "header (part 1) is not a JSON object"},
		"header array":     {token: testToken(`["alg"]`, `{}`), err: "header (part 1) is not a JSON object"},
		"header null":      {token: testToken(`null`, `{}`), err: "header (part 1) is not a JSON object"},
		"header trailing":  {token: testToken(`{"alg":"EdDSA"}{}`, `{}`), err: "header (part 1) is not a JSON object"},
		"no alg":           {token: testToken(`{"typ":"JWT"}`, `{}`), err: "header has no alg"},
		"empty alg":        {token: testToken(`{"alg":""}`, `{}`), err: "header has no alg"},
		"alg not string":   {token: testToken(`{"alg":1}`, `{}`), err: `header member "alg" is not a JSON string`},
		"alg none":         {token: testToken(`{"alg":"none"}`, `{}`), err: "unsigned token"},
		"claims not json":  {token: testToken(`{"alg":"EdDSA"}`, `sub=x`), err: "claims (part 2) is not a JSON object"},
		"claims string":    {token: testToken(`{"alg":"EdDSA"}`, `"x"`), err: "claims (part 2) is not a JSON object"},
		"sub not string":   {token: testToken(`{"alg":"EdDSA"}`, `{"sub":42}`), err: `claims member "sub" is not a JSON string`},
		"exp as string":    {token: testToken(`{"alg":"EdDSA"}`, `{"exp":"1767225900"}`), err: `claim "exp" is not a JSON number`},
		"iat as bool":      {token: testToken(`{"alg":"EdDSA"}`, `{"iat":true}`), err: `claim "iat" is not a JSON number`},
		"vc not object":    {token: testToken(`{"alg":"EdDSA"}`, `{"vc":"x"}`), err: "vc claim is not a JSON object"},
		"subject list":     {token: testToken(`{"alg":"EdDSA"}`, `{"vc":{"credentialSubject":[]}}`), err: "vc.credentialSubject claim is not a JSON object"},
		"level not string": {token: testToken(`{"alg":"EdDSA"}`, `{"vc":{"credentialSubject":{"level":1}}}`), err: `vc.credentialSubject member "level" is not a JSON string`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b, err := decodeBadge(tc.token)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("decodeBadge error = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("decodeBadge: %v", err)
			}
			text := func(f *big.Float) string {
				if f == nil {
					return ""
				}
				return f.Text('f', 0)
			}
			got := result{
				Header: str(string(b.header)), Claims: str(string(b.claims)), JTI: b.jti, Sub: b.sub, Iss: b.iss,
				TrustLevel: b.trustLevel, Exp: text(b.exp), Iat: text(b.iat),
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("decodeBadge (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDecodeBadge_NeverQuotesTheToken feeds tokens whose parts hold a
// recognisable secret and checks no error message repeats any of it.
func TestDecodeBadge_NeverQuotesTheToken(t *testing.T) {
	t.Parallel()
	secret := "SECRETSECRETSECRET"
	enc := b64url([]byte(secret))
	for _, tok := range []string{
		secret, secret + "." + secret, enc + "." + enc + "." + enc, testToken(`{"alg":"`+secret+`"`, `{}`),
		testToken(`{"alg":"EdDSA"}`, `{"sub":"`+secret+`"`), testToken(`{"alg":"EdDSA"}`, `{"exp":"`+secret+`"}`),
	} {
		_, err := decodeBadge(tok)
		if err == nil {
			t.Fatalf("decodeBadge accepted %q", tok)
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), enc) {
			t.Errorf("error quotes the token: %v", err)
		}
	}
}

func TestBadgeClaimsFunction_HandMade(t *testing.T) {
	functionTest(t, resource.TestStep{
		Config: fmt.Sprintf(`
locals {
  badge = provider::capiscio::badge_claims(%[1]q)
}
output "test" {
  value = local.badge
}
output "kid" {
  value = jsondecode(local.badge.header).kid
}
output "domain" {
  value = jsondecode(local.badge.claims).vc.credentialSubject.domain
}
output "expires_at" {
  value = timeadd("1970-01-01T00:00:00Z", "${local.badge.exp}s")
}
output "minimal" {
  value = provider::capiscio::badge_claims(%[2]q)
}
`, testToken(testBadgeHeader, testBadgeClaims), testToken(`{"alg":"EdDSA"}`, `{}`)),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownOutputValue("test", knownvalue.ObjectExact(map[string]knownvalue.Check{
				"header":      knownvalue.StringExact(testBadgeHeader),
				"claims":      knownvalue.StringExact(testBadgeClaims),
				"jti":         knownvalue.StringExact("6f1c1a3e-0c2b-4e4e-9d39-2b0f3f0f6a11"),
				"sub":         knownvalue.StringExact("did:web:registry.capisc.io:servers:550e8400-e29b-41d4-a716-446655440000"),
				"iss":         knownvalue.StringExact("https://registry.capisc.io"),
				"exp":         knownvalue.Int64Exact(1767225900),
				"iat":         knownvalue.Int64Exact(1767225600),
				"trust_level": knownvalue.StringExact("1"),
			})),
			statecheck.ExpectKnownOutputValue("kid", knownvalue.StringExact("capiscio-ca-1")),
			statecheck.ExpectKnownOutputValue("domain", knownvalue.StringExact("mcp.example.com")),
			statecheck.ExpectKnownOutputValue("expires_at", knownvalue.StringExact("2026-01-01T00:05:00Z")),
			statecheck.ExpectKnownOutputValue("minimal", knownvalue.ObjectExact(map[string]knownvalue.Check{
				"header":      knownvalue.StringExact(`{"alg":"EdDSA"}`),
				"claims":      knownvalue.StringExact(`{}`),
				"jti":         knownvalue.Null(),
				"sub":         knownvalue.Null(),
				"iss":         knownvalue.Null(),
				"exp":         knownvalue.Null(),
				"iat":         knownvalue.Null(),
				"trust_level": knownvalue.Null(),
			})),
		},
	})
}

// TestBadgeClaimsFunction_RealBadge decodes a badge the local registry issued
// for an identity the resource made, and checks its claims against the
// resource's own attributes. The badge is fetched out of band between the two
// steps (the resource never stores one) and handed in as a sensitive variable.
func TestBadgeClaimsFunction_RealBadge(t *testing.T) {
	reg := testRegistry(t)
	var id, token string
	base := testIdentityConfig(reg, `name = "badge-claims"`)
	unitTest(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_8_0)},
		ProtoV6ProviderFactories: testProviderFactories(nil),
		Steps: []resource.TestStep{
			{
				Config:            base,
				ConfigStateChecks: []statecheck.StateCheck{capture(testAddr, "id", &id)},
			},
			{
				PreConfig: func() {
					resp, body := regDo(reg, http.MethodPost, "/v1/sdk/servers/"+id+"/badge", map[string]string{})
					var env protocol.Envelope[protocol.Badge]
					if resp.StatusCode != http.StatusCreated || jsonUnmarshal(body, &env) != nil || env.Data.Badge == "" {
						t.Fatalf("issuing a badge out of band: HTTP %d", resp.StatusCode)
					}
					token = env.Data.Badge
				},
				ConfigVariables: config.Variables{"badge": lazyString{&token}},
				Config: base + `
variable "badge" {
  type      = string
  sensitive = true
}
locals {
  id     = capiscio_server_identity.test
  claims = provider::capiscio::badge_claims(var.badge)
}
output "sub_is_did" {
  value = nonsensitive(local.claims.sub) == local.id.did
}
output "expires_within_ttl" {
  value = nonsensitive(local.claims.exp) - nonsensitive(local.claims.iat) == 300
}
output "trust_level_is_resource" {
  value = nonsensitive(local.claims.trust_level) == local.id.trust_level
}
output "iss" {
  value = nonsensitive(local.claims.iss)
}
output "alg" {
  value = jsondecode(nonsensitive(local.claims.header)).alg
}
output "key_x_is_registered" {
  value = jsondecode(nonsensitive(local.claims.claims)).key.x == jsondecode(provider::capiscio::public_key_jwk(local.id.public_key_pem)).x
}
output "whole" {
  value     = local.claims
  sensitive = true
}
`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownOutputValue("sub_is_did", knownvalue.Bool(true)),
					statecheck.ExpectKnownOutputValue("expires_within_ttl", knownvalue.Bool(true)),
					statecheck.ExpectKnownOutputValue("trust_level_is_resource", knownvalue.Bool(true)),
					statecheck.ExpectKnownOutputValue("iss", knownvalue.StringExact(reg.URL)),
					statecheck.ExpectKnownOutputValue("alg", knownvalue.StringExact("EdDSA")),
					statecheck.ExpectKnownOutputValue("key_x_is_registered", knownvalue.Bool(true)),
					checkOutputSensitive("whole"),
				},
			},
		},
	})
}

// lazyString is a test variable whose value is read when the step runs, so a
// PreConfig can set it from something an earlier step created.
type lazyString struct{ p *string }

func (v lazyString) MarshalJSON() ([]byte, error) { return json.Marshal(*v.p) }

func TestBadgeClaimsFunction_Invalid(t *testing.T) {
	cases := []struct{ token, text string }{
		{"not-a-badge", "has 1 dot-separated part(s)"},
		{"a.b", "has 2 dot-separated part(s)"},
		{b64url([]byte(`{"alg":"EdDSA"}`)) + ".a!b.c2ln", "claims (part 2) is not unpadded base64url"},
		{testToken(`not json`, `{}`), "header (part 1) is not a JSON object"},
		{testToken(`{"alg":"EdDSA"}`, `not json`), "claims (part 2) is not a JSON object"},
		{testToken(`{"typ":"JWT"}`, `{}`), "header has no alg"},
	}
	var steps []resource.TestStep
	for _, c := range cases {
		steps = append(steps, resource.TestStep{
			Config:      callOutput("badge_claims", fmt.Sprintf("%q", c.token)),
			ExpectError: argErrorRe("badge", c.text),
		})
	}
	functionTest(t, steps...)
}
