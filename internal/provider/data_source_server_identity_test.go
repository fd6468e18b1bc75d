package provider

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver/registrytest"
)

const (
	testDataByID  = "data.capiscio_server_identity.by_id"
	testDataByDID = "data.capiscio_server_identity.by_did"
)

// testDataSourceConfig is a provider block for reg plus body.
func testDataSourceConfig(reg *registrytest.Registry, body string) string {
	return providerBlock(reg, "max_retries = 1") + body
}

// wrapRe compiles pattern with each space matching any run of whitespace,
// since Terraform wraps long diagnostics; "." matches newlines too.
func wrapRe(pattern string) *regexp.Regexp {
	return regexp.MustCompile("(?s)" + strings.ReplaceAll(pattern, " ", `\s+`))
}

// registryDID is the did:web the registry at reg assigns to server id.
func registryDID(reg *registrytest.Registry, id string) string {
	u, _ := url.Parse(reg.URL)
	return "did:web:" + strings.ReplaceAll(u.Host, ":", "%3A") + ":servers:" + id
}

// TestServerIdentityDataSource_ByServerIDAndDID looks up a record made out of
// band (as in the dashboard) with the RFC 8032 test key, by id and by DID, and
// checks every attribute against values computed independently of the
// provider: the published did:key and RFC 8037 thumbprint of that key.
func TestServerIdentityDataSource_ByServerIDAndDID(t *testing.T) {
	reg := testRegistry(t)
	rec := registryCreate(t, reg, "dashboard-server", rfcDIDKey, rfcPublicPEM)
	did := registryDID(reg, rec.ID)
	if rec.DID != did {
		t.Fatalf("registry assigned %q, want %q", rec.DID, did)
	}
	want := map[string]knownvalue.Check{
		"id":             knownvalue.StringExact(rec.ID),
		"server_id":      knownvalue.StringExact(rec.ID),
		"did":            knownvalue.StringExact(did),
		"did_key":        knownvalue.StringExact(rfcDIDKey),
		"name":           knownvalue.StringExact("dashboard-server"),
		"status":         knownvalue.StringExact(protocol.StatusActive),
		"public_key_pem": knownvalue.StringExact(rfcPublicPEM),
		"key_id":         knownvalue.StringExact(rfcThumbprint),
		"domain":         knownvalue.Null(), // no badge has named one yet
		"trust_level":    knownvalue.StringExact("1"),
	}
	var checks []statecheck.StateCheck
	for _, addr := range []string{testDataByID, testDataByDID} {
		for attr, check := range want {
			checks = append(checks, statecheck.ExpectKnownValue(addr, tfjsonpath.New(attr), check))
		}
	}
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		Steps: []resource.TestStep{{
			Config: testDataSourceConfig(reg, fmt.Sprintf(`
data "capiscio_server_identity" "by_id" {
  server_id = %[1]q
}
data "capiscio_server_identity" "by_did" {
  did = %[2]q
}
`, rec.ID, did)),
			ConfigStateChecks: checks,
		}},
	})
}

// TestServerIdentityDataSource_FromResource reads an identity the resource
// manages, by its DID (unknown until apply), and checks that both agree on
// every public attribute, including the badge domain the registry recorded.
func TestServerIdentityDataSource_FromResource(t *testing.T) {
	reg := testRegistry(t)
	var checks []statecheck.StateCheck
	for _, attr := range []string{"id", "server_id", "did", "did_key", "name", "public_key_pem", "key_id", "domain", "trust_level"} {
		checks = append(checks, statecheck.CompareValuePairs(
			testAddr, tfjsonpath.New(attr), testDataByDID, tfjsonpath.New(attr), compare.ValuesSame()))
	}
	checks = append(checks,
		statecheck.ExpectKnownValue(testDataByDID, tfjsonpath.New("status"), knownvalue.StringExact(protocol.StatusActive)),
		statecheck.ExpectKnownValue(testDataByDID, tfjsonpath.New("domain"), knownvalue.StringExact("mcp.example.com")),
	)
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		Steps: []resource.TestStep{
			{
				Config: testIdentityConfig(reg, `
  name   = "managed"
  domain = "mcp.example.com"
`) + `
data "capiscio_server_identity" "by_did" {
  did = capiscio_server_identity.test.did
}
`,
				ConfigStateChecks: checks,
			},
		},
	})
}

// TestServerIdentityDataSource_ExactlyOne checks the argument combination
// rule at plan time, before any registry call.
func TestServerIdentityDataSource_ExactlyOne(t *testing.T) {
	reg := testRegistry(t)
	id := uuid.NewString()
	combination := wrapRe(`(Invalid Attribute Combination|Missing Attribute Configuration).*Exactly one of these attributes must be configured: \[server_id,did\]`)
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		Steps: []resource.TestStep{
			{
				Config: testDataSourceConfig(reg, fmt.Sprintf(`
data "capiscio_server_identity" "test" {
  server_id = %[1]q
  did       = %[2]q
}
`, id, registryDID(reg, id))),
				ExpectError: combination,
			},
			{
				Config: testDataSourceConfig(reg, `
data "capiscio_server_identity" "test" {}
`),
				ExpectError: combination,
			},
		},
	})
}

// TestServerIdentityDataSource_InvalidArguments checks that each bad value is
// reported against its attribute with a message that says what to give.
func TestServerIdentityDataSource_InvalidArguments(t *testing.T) {
	reg := testRegistry(t)
	cases := []struct {
		arg  string
		want *regexp.Regexp
	}{
		{`server_id = "not-a-uuid"`, wrapRe(`Invalid Server ID.*server_id: "not-a-uuid" is not a server id`)},
		{`did = "did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw"`, wrapRe(`Invalid Server DID.*did:.*is a did:key, not a did:web`)},
		{`did = "did:web:registry.capisc.io:agents:550e8400-e29b-41d4-a716-446655440000"`, wrapRe(`Invalid Server DID.*did:.*is not a server DID.*did:web:<registry-host>:servers:<server-id>`)},
		{`did = "did:web:registry.capisc.io:servers:filesystem"`, wrapRe(`Invalid Server DID.*did:.*does not end in a server id`)},
		{`did = "did:web:localhost%3:servers:550e8400-e29b-41d4-a716-446655440000"`, wrapRe(`Invalid Server DID.*did:.*percent-escape`)},
	}
	var steps []resource.TestStep
	for _, c := range cases {
		steps = append(steps, resource.TestStep{
			Config:      testDataSourceConfig(reg, "data \"capiscio_server_identity\" \"test\" {\n  "+c.arg+"\n}\n"),
			ExpectError: c.want,
		})
	}
	unitTest(t, resource.TestCase{ProtoV6ProviderFactories: testProviderFactories(nil), Steps: steps})
}

// TestServerIdentityDataSource_NotFound covers the three ways a lookup finds
// nothing: an unknown id, a record of another organisation (the registry says
// 404; see docs/design/protocol.md), and a DID of another registry.
func TestServerIdentityDataSource_NotFound(t *testing.T) {
	reg := testRegistry(t)
	missing := uuid.NewString()
	rec := registryCreate(t, reg, "other-org-cannot-see", rfcDIDKey, rfcPublicPEM)
	otherOrg := fmt.Sprintf(`
provider "capiscio" {
  registry_url = %[1]q
  api_key      = %[2]q
  max_retries  = 1
}
data "capiscio_server_identity" "test" {
  server_id = %[3]q
}
`, reg.URL, reg.SecondOrgKey(t), rec.ID)
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		Steps: []resource.TestStep{
			{
				Config: testDataSourceConfig(reg, fmt.Sprintf("data \"capiscio_server_identity\" \"test\" {\n  server_id = %q\n}\n", missing)),
				ExpectError: wrapRe(`Server Identity Not Found.*no server record for server_id ` + missing +
					`.*API key belongs to the organisation that owns the record`),
			},
			{
				Config:      otherOrg,
				ExpectError: wrapRe(`Server Identity Not Found.*server_id ` + rec.ID + `.*organisation`),
			},
			{
				Config: testDataSourceConfig(reg, fmt.Sprintf("data \"capiscio_server_identity\" \"test\" {\n  did = %q\n}\n",
					"did:web:registry.capisc.io:servers:"+missing)),
				ExpectError: wrapRe(`Server Identity Not Found.*did did:web:registry.capisc.io:servers:` + missing +
					`.*The DID names the host registry.capisc.io, but the provider is configured for 127.0.0.1`),
			},
		},
	})
}

// TestServerIdentityDataSource_DIDOfAnotherRegistry: the id in the DID exists
// in this registry, but the record's DID names another host, so the given DID
// is not this record's.
func TestServerIdentityDataSource_DIDOfAnotherRegistry(t *testing.T) {
	reg := testRegistry(t)
	rec := registryCreate(t, reg, "same-id-other-host", rfcDIDKey, rfcPublicPEM)
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		Steps: []resource.TestStep{{
			Config: testDataSourceConfig(reg, fmt.Sprintf("data \"capiscio_server_identity\" \"test\" {\n  did = %q\n}\n",
				"did:web:registry.capisc.io:servers:"+rec.ID)),
			ExpectError: wrapRe(`Server DID Belongs to Another Registry.*has the DID ` + regexp.QuoteMeta(rec.DID)),
		}},
	})
}

// TestServerIdentityDataSource_EquivalentDIDSpelling: a DID that differs from
// the registry's only in the case of its host and percent-escape names the
// same server; the configured spelling is kept.
func TestServerIdentityDataSource_EquivalentDIDSpelling(t *testing.T) {
	reg := testRegistry(t)
	rec := registryCreate(t, reg, "spelling", rfcDIDKey, rfcPublicPEM)
	u, _ := url.Parse(reg.URL)
	spelled := "did:web:" + strings.ReplaceAll(u.Host, ":", "%3a") + ":servers:" + rec.ID
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		Steps: []resource.TestStep{{
			Config: testDataSourceConfig(reg, fmt.Sprintf("data \"capiscio_server_identity\" \"test\" {\n  did = %q\n}\n", spelled)),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.capiscio_server_identity.test", tfjsonpath.New("did"), knownvalue.StringExact(spelled)),
				statecheck.ExpectKnownValue("data.capiscio_server_identity.test", tfjsonpath.New("id"), knownvalue.StringExact(rec.ID)),
			},
		}},
	})
}

// TestServerIdentityDataSource_DisabledRecord reads a record disabled in the
// registry: the lookup still works and says so in status.
func TestServerIdentityDataSource_DisabledRecord(t *testing.T) {
	reg := testRegistry(t)
	rec := registryCreate(t, reg, "disabled", rfcDIDKey, rfcPublicPEM)
	if resp, body := regDo(reg, http.MethodPost, "/v1/sdk/servers/"+rec.ID+"/disable", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("disabling %s: HTTP %d: %s", rec.ID, resp.StatusCode, body)
	}
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		Steps: []resource.TestStep{{
			Config: testDataSourceConfig(reg, fmt.Sprintf("data \"capiscio_server_identity\" \"test\" {\n  server_id = %q\n}\n", rec.ID)),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.capiscio_server_identity.test", tfjsonpath.New("status"), knownvalue.StringExact(protocol.StatusDisabled)),
				statecheck.ExpectKnownValue("data.capiscio_server_identity.test", tfjsonpath.New("did_key"), knownvalue.StringExact(rfcDIDKey)),
			},
		}},
	})
}

// TestServerIdentityDataSource_MissingAPIKey: the data source needs the
// registry, so a missing key is an error naming the argument and env var.
func TestServerIdentityDataSource_MissingAPIKey(t *testing.T) {
	reg := testRegistry(t)
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
provider "capiscio" {
  registry_url = %[1]q
}
data "capiscio_server_identity" "test" {
  server_id = %[2]q
}
`, reg.URL, uuid.NewString()),
			ExpectError: wrapRe(`Missing CapiscIO API Key.*api_key.*CAPISCIO_API_KEY`),
		}},
	})
}

// TestServerRecordKeyFallback checks the mapping of records whose key comes
// only as a did:key, as no key at all, or as something unreadable.
func TestServerRecordKeyFallback(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		server      protocol.Server
		wantDIDKey  string
		wantWarning bool
	}{
		"pem":               {server: protocol.Server{PublicKey: rfcPublicPEM}, wantDIDKey: rfcDIDKey},
		"did:key only":      {server: protocol.Server{DIDKey: rfcDIDKey}, wantDIDKey: rfcDIDKey},
		"bad pem, did:key":  {server: protocol.Server{PublicKey: "garbage", DIDKey: rfcDIDKey}, wantDIDKey: rfcDIDKey},
		"no key yet":        {server: protocol.Server{}},
		"unreadable pem":    {server: protocol.Server{PublicKey: "garbage"}, wantWarning: true},
		"unreadable didkey": {server: protocol.Server{DIDKey: "did:key:zQ3s"}, wantWarning: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tc.server.ID, tc.server.DID, tc.server.Name = "id", "did:web:x:servers:id", "n"
			m, diags := serverToDataSourceModel(&tc.server)
			if diags.HasError() || (diags.WarningsCount() > 0) != tc.wantWarning {
				t.Fatalf("diagnostics = %v, want warning %t", diags, tc.wantWarning)
			}
			if got := m.DIDKey.ValueString(); got != tc.wantDIDKey {
				t.Errorf("did_key = %q, want %q", got, tc.wantDIDKey)
			}
			if tc.wantDIDKey == "" && (!m.PublicKeyPEM.IsNull() || !m.KeyID.IsNull() || !m.DIDKey.IsNull()) {
				t.Errorf("key attributes should be null: %+v", m)
			}
			if tc.wantDIDKey != "" && (m.PublicKeyPEM.ValueString() != rfcPublicPEM || m.KeyID.ValueString() != rfcThumbprint) {
				t.Errorf("public_key_pem / key_id = %q / %q", m.PublicKeyPEM.ValueString(), m.KeyID.ValueString())
			}
		})
	}
}
