package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registry"
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
		// What the public DID document publishes, computed from the DID
		// and the key alone.
		"did_document_url":                   knownvalue.StringExact(reg.URL + "/servers/" + rec.ID + "/did.json"),
		"did_document_key_id":                knownvalue.StringExact(did + "#key-1"),
		"did_document_did_key":               knownvalue.StringExact(rfcDIDKey),
		"did_document_serves_registered_key": knownvalue.Bool(true),
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

// didDocumentTap sits in front of the registry's DID document route. Live, it
// passes requests through and remembers each document; stale, it serves the
// document remembered last (a cache in front of the registry that has not
// caught up with a rotation); missing, it answers 404.
type didDocumentTap struct {
	mode atomic.Int32 // one of tapLive, tapStale, tapMissing
	mu   sync.Mutex
	last map[string][]byte
}

const (
	tapLive int32 = iota
	tapStale
	tapMissing
)

func (d *didDocumentTap) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/did.json") {
			next.ServeHTTP(w, r)
			return
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		switch d.mode.Load() {
		case tapMissing:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"success":false,"error":"not_found","message":"no such document"}`))
		case tapStale:
			w.Header().Set("Content-Type", "application/did+json")
			_, _ = w.Write(d.last[r.URL.Path])
		default:
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			if d.last == nil {
				d.last = map[string][]byte{}
			}
			d.last[r.URL.Path] = rec.Body.Bytes()
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
		}
	})
}

// TestServerIdentityDataSource_DIDDocument follows a record made out of band
// through what its DID document publishes: its key; the new key after a
// rotation outside Terraform; the old key from a stale document, which the
// data source reports as not serving the registered key; and a document
// that cannot be read, which leaves the lookup standing with the document's
// attributes null.
func TestServerIdentityDataSource_DIDDocument(t *testing.T) {
	var tap didDocumentTap
	reg := testRegistry(t, registrytest.WithMiddleware(tap.middleware))
	rec := registryCreate(t, reg, "published", rfcDIDKey, rfcPublicPEM)
	rotated, back := newTestKey(t), newTestKey(t)
	const addr = "data.capiscio_server_identity.test"
	cfg := testDataSourceConfig(reg, fmt.Sprintf("data \"capiscio_server_identity\" \"test\" {\n  server_id = %q\n}\n", rec.ID))
	document := func(didKey knownvalue.Check, serves bool) []statecheck.StateCheck {
		return []statecheck.StateCheck{
			statecheck.ExpectKnownValue(addr, tfjsonpath.New("did_document_url"), knownvalue.StringExact(reg.URL+"/servers/"+rec.ID+"/did.json")),
			statecheck.ExpectKnownValue(addr, tfjsonpath.New("did_document_did_key"), didKey),
			statecheck.ExpectKnownValue(addr, tfjsonpath.New("did_document_serves_registered_key"), knownvalue.Bool(serves)),
		}
	}
	registered := func(didKey string) statecheck.StateCheck {
		return statecheck.ExpectKnownValue(addr, tfjsonpath.New("did_key"), knownvalue.StringExact(didKey))
	}
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigStateChecks: append(document(knownvalue.StringExact(rfcDIDKey), true),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("did_document_key_id"), knownvalue.StringExact(rec.DID+"#key-1"))),
			},
			{
				PreConfig: func() {
					if resp, body := regDo(reg, http.MethodPut, "/v1/sdk/servers/"+rec.ID, protocol.RegisterKeyRequest{DID: rotated.DIDKey, PublicKey: rotated.PEM}); resp.StatusCode != http.StatusOK {
						t.Fatalf("rotating the key out of band: HTTP %d: %s", resp.StatusCode, body)
					}
				},
				Config:            cfg,
				ConfigStateChecks: append(document(knownvalue.StringExact(rotated.DIDKey), true), registered(rotated.DIDKey)),
			},
			{
				PreConfig: func() {
					tap.mode.Store(tapStale)
					if resp, body := regDo(reg, http.MethodPut, "/v1/sdk/servers/"+rec.ID, protocol.RegisterKeyRequest{DID: back.DIDKey, PublicKey: back.PEM}); resp.StatusCode != http.StatusOK {
						t.Fatalf("rotating the key out of band: HTTP %d: %s", resp.StatusCode, body)
					}
				},
				Config: cfg,
				// The record holds the newest key, the stale document the one before.
				ConfigStateChecks: append(document(knownvalue.StringExact(rotated.DIDKey), false), registered(back.DIDKey)),
			},
			{
				PreConfig: func() { tap.mode.Store(tapMissing) },
				Config:    cfg,
				ConfigStateChecks: append(document(knownvalue.Null(), false),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("did_document_key_id"), knownvalue.Null()),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact(protocol.StatusActive))),
			},
		},
	})
}

// TestServerIdentityDataSource_DIDDocumentWarning calls Read directly (the
// harness cannot see warnings): a DID document that cannot be read is a
// warning that names the record, the URL and what the attributes then say,
// and the lookup itself succeeds.
func TestServerIdentityDataSource_DIDDocumentWarning(t *testing.T) {
	t.Parallel()
	tap := &didDocumentTap{}
	tap.mode.Store(tapMissing)
	reg := testRegistry(t, registrytest.WithMiddleware(tap.middleware))
	rec := registryCreate(t, reg, "unpublished", rfcDIDKey, rfcPublicPEM)
	client, err := registry.New(registry.Config{BaseURL: reg.URL, APIKey: reg.APIKey, MaxRetries: 0})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d := &serverIdentityDataSource{data: &providerData{client: client, registryURL: reg.URL}}
	var sr datasource.SchemaResponse
	d.Schema(ctx, datasource.SchemaRequest{}, &sr)
	objType := sr.Schema.Type().TerraformType(ctx).(tftypes.Object)
	attrs := map[string]tftypes.Value{}
	for name, typ := range objType.AttributeTypes {
		attrs[name] = tftypes.NewValue(typ, nil)
	}
	attrs["server_id"] = tftypes.NewValue(tftypes.String, rec.ID)
	req := datasource.ReadRequest{Config: tfsdk.Config{Schema: sr.Schema, Raw: tftypes.NewValue(objType, attrs)}}
	resp := datasource.ReadResponse{State: tfsdk.State{Schema: sr.Schema, Raw: tftypes.NewValue(objType, nil)}}
	d.Read(ctx, req, &resp)

	if resp.Diagnostics.HasError() || resp.Diagnostics.WarningsCount() != 1 {
		t.Fatalf("diagnostics = %v, want one warning", resp.Diagnostics)
	}
	w := resp.Diagnostics.Warnings()[0]
	if w.Summary() != "DID Document Not Readable" {
		t.Errorf("summary = %q", w.Summary())
	}
	for _, want := range []string{rec.ID, reg.URL + "/servers/" + rec.ID + "/did.json", rec.DID, "did_document_serves_registered_key is false", "not_found"} {
		if !strings.Contains(w.Detail(), want) {
			t.Errorf("warning detail does not mention %q: %s", want, w.Detail())
		}
	}
	var got serverIdentityDataSourceModel
	if diags := resp.State.Get(ctx, &got); diags.HasError() {
		t.Fatal(diags)
	}
	if got.DIDKey.ValueString() != rfcDIDKey || got.DIDDocumentServesRegisteredKey.ValueBool() || !got.DIDDocumentDIDKey.IsNull() {
		t.Errorf("state after an unreadable document: did_key %s, serves %s, document did_key %s",
			got.DIDKey, got.DIDDocumentServesRegisteredKey, got.DIDDocumentDIDKey)
	}
}

// TestServerIdentityDataSource_CheckBlock runs the post-deploy check of the
// guide (examples/guides/post-deploy-checks, copied as is) with the real CLI
// and the provider binary: the check passes after the apply; once another key
// is registered on the record out of band, a refresh-only apply reports the
// failed assertion as a warning and succeeds, changing nothing in the
// registry; the next apply registers the identity's key again and the check
// passes; a record disabled out of band fails the status assertion the same
// way. Every supported CLI runs it (Terraform 1.11+, OpenTofu).
func TestServerIdentityDataSource_CheckBlock(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the provider binary")
	}
	t.Parallel()
	reg := registrytest.Start(t)
	tf := newCLIRun(t, reg)
	tf.env = append(tf.env, "TF_LOG=", EnvRegistryURL+"="+reg.URL, EnvAPIKey+"="+reg.APIKey)
	copyTF(t, "../../examples/guides/post-deploy-checks", tf.dir)
	const (
		keyFailed    = "not this identity's key"
		statusFailed = "gets no badges and verifiers reject it"
	)
	noFailure := func(step, out string) {
		t.Helper()
		for _, failed := range []string{keyFailed, statusFailed, "does not publish the key the registry holds"} {
			if wrapRe(failed).MatchString(out) { // Terraform wraps the message
				t.Errorf("%s: a check assertion failed (%q):\n%s", step, failed, out)
			}
		}
	}

	noFailure("apply", tf.run("apply", "-auto-approve"))
	id := managedStateAttr(t, tf, "id")
	declared := managedStateAttr(t, tf, "did_key")

	rogue := newTestKey(t)
	if resp, body := regDo(reg, http.MethodPut, "/v1/sdk/servers/"+id, protocol.RegisterKeyRequest{DID: rogue.DIDKey, PublicKey: rogue.PEM}); resp.StatusCode != http.StatusOK {
		t.Fatalf("registering another key out of band: HTTP %d: %s", resp.StatusCode, body)
	}
	out := tf.run("apply", "-refresh-only", "-auto-approve") // fails the test unless it succeeds
	for _, want := range []string{"Warning:", "weather_identity_published", keyFailed, rogue.DIDKey} {
		if !wrapRe(want).MatchString(out) {
			t.Errorf("refresh-only apply after the out-of-band key does not say %q:\n%s", want, out)
		}
	}
	if s, _ := registryGet(t, reg, id); s.DIDKey != rogue.DIDKey {
		t.Fatalf("a refresh-only apply changed the record's key to %s", s.DIDKey)
	}

	out = tf.run("apply", "-auto-approve")
	if !strings.Contains(out, "Server Key Will Be Registered Again") {
		t.Errorf("the apply after the out-of-band key did not register the identity's key again:\n%s", out)
	}
	noFailure("apply that mends the key", out)
	if s, _ := registryGet(t, reg, id); s.DIDKey != declared {
		t.Fatalf("after the apply the record holds %s, want the identity's key %s", s.DIDKey, declared)
	}
	noFailure("refresh-only apply after the mend", tf.run("apply", "-refresh-only", "-auto-approve"))

	if resp, body := regDo(reg, http.MethodPost, "/v1/sdk/servers/"+id+"/disable", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("disabling the record out of band: HTTP %d: %s", resp.StatusCode, body)
	}
	if out := tf.run("apply", "-refresh-only", "-auto-approve"); !wrapRe(statusFailed).MatchString(out) || !wrapRe("is disabled").MatchString(out) {
		t.Errorf("refresh-only apply after disabling the record does not report it:\n%s", out)
	}
}

// managedStateAttr reads one attribute of the only managed resource in the
// state of a binary-level run (a check's data source may be stored too).
func managedStateAttr(t *testing.T, tf *cliRun, name string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(tf.dir, "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Resources []struct {
			Mode      string `json:"mode"`
			Instances []struct {
				Attributes map[string]any `json:"attributes"`
			} `json:"instances"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	for _, r := range st.Resources {
		if r.Mode == "managed" && len(r.Instances) == 1 {
			s, _ := r.Instances[0].Attributes[name].(string)
			return s
		}
	}
	t.Fatalf("no managed resource in state")
	return ""
}
