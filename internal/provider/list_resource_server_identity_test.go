package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/list"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/querycheck"
	"github.com/hashicorp/terraform-plugin-testing/querycheck/queryfilter"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver/registrytest"
)

// listVersionChecks: list blocks and terraform query need Terraform 1.14;
// older Terraform and OpenTofu (which has no terraform query) skip with
// the harness's reason.
var listVersionChecks = []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_14_0)}

// listBlock is a list "capiscio_server_identity" block named name whose
// body is body.
func listBlock(name, body string) string {
	return fmt.Sprintf("list \"capiscio_server_identity\" %q {\n  provider = capiscio\n%s\n}\n", name, body)
}

// identityOf is the resource identity a listed record must carry.
func identityOf(id string) map[string]knownvalue.Check {
	return map[string]knownvalue.Check{"server_id": knownvalue.StringExact(id)}
}

// listFixture is an organisation's records made outside Terraform, as the
// dashboard or the runtime SDK makes them, plus one of another organisation.
type listFixture struct {
	web      []protocol.Server // web-a, web-b (active)
	disabled protocol.Server   // web-c, disabled
	api      protocol.Server   // api-d (active)
	foreign  protocol.Server   // another organisation's: never listed
}

func newListFixture(t *testing.T, reg *registrytest.Registry) listFixture {
	t.Helper()
	record := func(name string) protocol.Server {
		m := newTestKey(t)
		return registryCreate(t, reg, name, m.DIDKey, m.PEM)
	}
	f := listFixture{web: []protocol.Server{record("web-a"), record("web-b")}, disabled: record("web-c"), api: record("api-d")}
	if resp, body := regDo(reg, http.MethodPost, "/v1/sdk/servers/"+f.disabled.ID+"/disable", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("disabling %s: HTTP %d: %s", f.disabled.ID, resp.StatusCode, body)
	}
	f.foreign = registryCreateWithKey(t, reg, reg.SecondOrgKey(t))
	return f
}

// TestServerIdentityListResource_Query lists records made outside Terraform
// with terraform query: every record of the organisation and none of
// another's, each with its identity and display name; the filters by name
// prefix and status, alone and together; the list block's limit; and the
// resource object Terraform asks for with include_resource, which is the
// state an import of the record produces.
func TestServerIdentityListResource_Query(t *testing.T) {
	reg := testRegistry(t)
	f := newListFixture(t, reg)
	all := append(append([]protocol.Server{}, f.web...), f.disabled, f.api)
	var allChecks []querycheck.QueryResultCheck
	for _, s := range all {
		allChecks = append(allChecks,
			querycheck.ExpectIdentity("capiscio_server_identity.all", identityOf(s.ID)),
			querycheck.ExpectResourceDisplayName("capiscio_server_identity.all", queryfilter.ByResourceIdentity(identityOf(s.ID)),
				knownvalue.StringExact(s.Name+" ("+s.ID+")")),
		)
	}
	allChecks = append(allChecks,
		querycheck.ExpectLength("capiscio_server_identity.all", len(all)),
		querycheck.ExpectNoIdentity("capiscio_server_identity.all", identityOf(f.foreign.ID)),
	)
	web := f.web[0]
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		TerraformVersionChecks:   listVersionChecks,
		Steps: []resource.TestStep{
			{
				// The configuration the query files are evaluated with: the
				// provider block only, no resources in state.
				Config: testDataSourceConfig(reg, ""),
			},
			{
				Query:             true,
				Config:            listBlock("all", ""),
				QueryResultChecks: allChecks,
			},
			{
				Query: true,
				Config: listBlock("web", `  config {
    name_prefix = "web-"
  }`) + listBlock("disabled", `  config {
    status = "disabled"
  }`) + listBlock("active_web", `  config {
    name_prefix = "web-"
    status      = "active"
  }`) + listBlock("none", `  config {
    name_prefix = "nothing-"
  }`) + listBlock("first_two", `  limit = 2`),
				QueryResultChecks: []querycheck.QueryResultCheck{
					querycheck.ExpectLength("capiscio_server_identity.web", 3),
					querycheck.ExpectNoIdentity("capiscio_server_identity.web", identityOf(f.api.ID)),
					querycheck.ExpectLength("capiscio_server_identity.disabled", 1),
					querycheck.ExpectIdentity("capiscio_server_identity.disabled", identityOf(f.disabled.ID)),
					querycheck.ExpectLength("capiscio_server_identity.active_web", 2),
					querycheck.ExpectIdentity("capiscio_server_identity.active_web", identityOf(f.web[0].ID)),
					querycheck.ExpectIdentity("capiscio_server_identity.active_web", identityOf(f.web[1].ID)),
					querycheck.ExpectLength("capiscio_server_identity.none", 0),
					querycheck.ExpectLength("capiscio_server_identity.first_two", 2),
					querycheck.ExpectIdentity("capiscio_server_identity.first_two", identityOf(f.web[0].ID)),
					querycheck.ExpectIdentity("capiscio_server_identity.first_two", identityOf(f.web[1].ID)),
				},
			},
			{
				Query: true,
				Config: listBlock("with_state", `  include_resource = true
  config {
    name_prefix = "web-a"
  }`),
				QueryResultChecks: []querycheck.QueryResultCheck{
					querycheck.ExpectLength("capiscio_server_identity.with_state", 1),
					querycheck.ExpectResourceKnownValues("capiscio_server_identity.with_state",
						queryfilter.ByResourceIdentity(identityOf(web.ID)), importedValues(reg, web)),
				},
			},
		},
	})
}

// importedValues are the attributes an import of record s yields: its
// public side, no private key, a registry-chosen key time and serial.
func importedValues(reg *registrytest.Registry, s protocol.Server) []querycheck.KnownValueCheck {
	want := map[string]knownvalue.Check{
		"id":                      knownvalue.StringExact(s.ID),
		"server_id":               knownvalue.StringExact(s.ID),
		"did":                     knownvalue.StringExact(s.DID),
		"did_key":                 knownvalue.StringExact(s.DIDKey),
		"public_key_pem":          knownvalue.StringExact(s.PublicKey),
		"name":                    knownvalue.StringExact(s.Name),
		"status":                  knownvalue.StringExact(protocol.StatusActive),
		"registry_url":            knownvalue.StringExact(reg.URL),
		"trust_level":             knownvalue.StringExact("1"),
		"issue_badge":             knownvalue.Bool(true),
		"ready_for_rotation":      knownvalue.Bool(false),
		"key_id":                  knownvalue.StringRegexp(regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)),
		"key_created_at":          knownvalue.StringExact(s.KeyUpdatedAt.UTC().Truncate(time.Second).Format(time.RFC3339)),
		"key_serial":              knownvalue.Int64Exact(s.KeyUpdatedAt.Truncate(time.Second).UnixMilli()),
		"private_key_pem":         knownvalue.Null(),
		"domain":                  knownvalue.Null(),
		"external_public_key_pem": knownvalue.Null(),
		"badge_jti":               knownvalue.Null(),
		"rotate_after":            knownvalue.Null(),
		"rotation_triggers":       knownvalue.Null(),
		"env": knownvalue.MapExact(map[string]knownvalue.Check{
			envServerID:  knownvalue.StringExact(s.ID),
			envServerURL: knownvalue.StringExact(reg.URL),
		}),
	}
	var checks []querycheck.KnownValueCheck
	for attr, check := range want {
		checks = append(checks, querycheck.KnownValueCheck{Path: tfjsonpath.New(attr), KnownValue: check})
	}
	return checks
}

// pageCap makes the registry answer list calls with at most n records a
// page, however many the provider asks for (a registry whose page is
// smaller than the provider's), and records the limit of every list call.
type pageCap struct {
	n int

	mu     sync.Mutex
	asked  []int // the limit of each list call, in order
	marked int   // len(asked) at the last expectListCalls check
}

func (c *pageCap) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == protocol.PathServers {
			q := r.URL.Query()
			limit, _ := strconv.Atoi(q.Get("limit"))
			c.mu.Lock()
			c.asked = append(c.asked, limit)
			c.mu.Unlock()
			if limit == 0 || limit > c.n {
				q.Set("limit", strconv.Itoa(c.n))
				r.URL.RawQuery = q.Encode()
			}
		}
		next.ServeHTTP(w, r)
	})
}

// expectListCalls checks the limits the provider asked for in the list
// calls since the previous check: one entry a page.
func (c *pageCap) expectListCalls(want ...int) querycheck.QueryResultCheck {
	return listCallsCheck{c: c, want: want}
}

type listCallsCheck struct {
	c    *pageCap
	want []int
}

func (l listCallsCheck) CheckQuery(_ context.Context, _ querycheck.CheckQueryRequest, resp *querycheck.CheckQueryResponse) {
	l.c.mu.Lock()
	defer l.c.mu.Unlock()
	got := append([]int{}, l.c.asked[l.c.marked:]...)
	l.c.marked = len(l.c.asked)
	if fmt.Sprint(got) != fmt.Sprint(l.want) {
		resp.Error = fmt.Errorf("list calls asked for %v records, want %v", got, l.want)
	}
}

// TestServerIdentityListResource_Paging lists seven records from a registry
// that sends two a page: every record is found by following nextCursor, a
// filter looks at every page, and the list block's limit stops the paging
// as soon as enough results were sent (no page more is fetched).
func TestServerIdentityListResource_Paging(t *testing.T) {
	pages := &pageCap{n: 2}
	reg := testRegistry(t, registrytest.WithMiddleware(pages.middleware))
	var recs []protocol.Server
	for i := range 7 {
		m := newTestKey(t)
		name := "svc-" + strconv.Itoa(i)
		if i == 6 {
			name = "last-" + strconv.Itoa(i) // on the fourth page only
		}
		recs = append(recs, registryCreate(t, reg, name, m.DIDKey, m.PEM))
	}
	var every []querycheck.QueryResultCheck
	for _, s := range recs {
		every = append(every, querycheck.ExpectIdentity("capiscio_server_identity.all", identityOf(s.ID)))
	}
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		TerraformVersionChecks:   listVersionChecks,
		Steps: []resource.TestStep{
			{Config: testDataSourceConfig(reg, "")},
			{
				Query:  true,
				Config: listBlock("all", ""),
				QueryResultChecks: append(every,
					querycheck.ExpectLength("capiscio_server_identity.all", 7),
					// Terraform's default limit is 100: the provider asks for
					// what is still wanted, the registry sends two a page.
					pages.expectListCalls(100, 98, 96, 94),
				),
			},
			{
				Query: true,
				Config: listBlock("last", `  config {
    name_prefix = "last-"
  }`),
				QueryResultChecks: []querycheck.QueryResultCheck{
					querycheck.ExpectLength("capiscio_server_identity.last", 1),
					querycheck.ExpectIdentity("capiscio_server_identity.last", identityOf(recs[6].ID)),
					// A filter is applied by the provider: full pages.
					pages.expectListCalls(serverListPageSize, serverListPageSize, serverListPageSize, serverListPageSize),
				},
			},
			{
				Query:  true,
				Config: listBlock("three", "  limit = 3"),
				QueryResultChecks: []querycheck.QueryResultCheck{
					querycheck.ExpectLength("capiscio_server_identity.three", 3),
					querycheck.ExpectIdentity("capiscio_server_identity.three", identityOf(recs[2].ID)),
					// Two pages give three results; the third page is never asked for.
					pages.expectListCalls(3, 1),
				},
			},
			{
				Query: true,
				Config: listBlock("first_svc", `  limit = 1
  config {
    name_prefix = "svc-"
  }`),
				QueryResultChecks: []querycheck.QueryResultCheck{
					querycheck.ExpectLength("capiscio_server_identity.first_svc", 1),
					pages.expectListCalls(serverListPageSize),
				},
			},
		},
	})
}

// TestServerIdentityListResource_Errors: a status the registry does not
// know is refused before any call, and a registry that refuses the API key
// ends the listing with an error that says which setting to fix.
func TestServerIdentityListResource_Errors(t *testing.T) {
	reg := testRegistry(t)
	unitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories(nil),
		TerraformVersionChecks:   listVersionChecks,
		Steps: []resource.TestStep{
			{Config: fmt.Sprintf("provider \"capiscio\" {\n  registry_url = %q\n  api_key = \"sk_test_not_a_key_of_this_registry\"\n  max_retries = 0\n}\n", reg.URL)},
			{
				Query: true,
				Config: listBlock("paused", `  config {
    status = "paused"
  }`),
				ExpectError: regexp.MustCompile(`value must be one of: \["active" "disabled"\]`),
			},
			{
				Query:       true,
				Config:      listBlock("all", ""),
				ExpectError: regexp.MustCompile(`Unable to List Server Identities.*refused the API key`),
			},
		},
	})
}

// cliVersion is the version the CLI of the binary-level tests reports
// (terraform version -json; OpenTofu answers in the same shape).
func cliVersion(t *testing.T) (major, minor int, text string) {
	t.Helper()
	out, err := exec.Command(cliPath(), "version", "-json").Output()
	if err != nil {
		t.Fatalf("%s version -json: %v", cliPath(), err)
	}
	var v struct {
		Version string `json:"terraform_version"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("%s version -json: %v\n%s", cliPath(), err, out)
	}
	if _, err := fmt.Sscanf(v.Version, "%d.%d", &major, &minor); err != nil {
		t.Fatalf("%s reports version %q: %v", cliPath(), v.Version, err)
	}
	return major, minor, v.Version
}

// skipBelowTerraform skips a binary-level test unless the CLI is Terraform
// major.minor or later, saying which CLI it found and why it is not enough.
func skipBelowTerraform(t *testing.T, major, minor int, feature string) {
	t.Helper()
	out, _ := exec.Command(cliPath(), "version").Output()
	maj, mnr, text := cliVersion(t)
	switch {
	case strings.HasPrefix(string(out), "OpenTofu"):
		t.Skipf("%s is OpenTofu %s, which has no %s (Terraform %d.%d or later has it)", cliPath(), text, feature, major, minor)
	case maj < major || (maj == major && mnr < minor):
		t.Skipf("%s needs Terraform %d.%d or later; %s is Terraform %s (set TF_ACC_TERRAFORM_PATH to a newer CLI)", feature, major, minor, cliPath(), text)
	}
}

// listCLIConfig is a root module that configures the provider from
// variables, for query files and the configuration they generate.
const listCLIConfig = `terraform {
  required_providers {
    capiscio = { source = "capiscio/capiscio" }
  }
}
variable "registry_url" { type = string }
variable "api_key" {
  type      = string
  sensitive = true
}
provider "capiscio" {
  registry_url = var.registry_url
  api_key      = var.api_key
}
`

// TestServerIdentityListResource_GenerateConfig runs what the large fleets
// guide tells users to do about records state does not know, with the real
// CLI and the provider binary: terraform query -generate-config-out writes
// an import block (by identity) and a resource block for each record made
// outside Terraform; terraform apply imports them all; the plan after it is
// empty (exit code 0); and destroy leaves the records in the registry. The
// documented query example is validated with the same CLI.
func TestServerIdentityListResource_GenerateConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the provider binary")
	}
	skipBelowTerraform(t, 1, 14, "terraform query")
	t.Parallel()
	reg := registrytest.Start(t)
	f := newListFixture(t, reg)
	tf := newCLIRun(t, reg)
	tf.env = append(tf.env, "TF_LOG=")
	writeFile(t, filepath.Join(tf.dir, "main.tf"), listCLIConfig)
	writeFile(t, filepath.Join(tf.dir, "search.tfquery.hcl"), listBlock("web", `  config {
    name_prefix = "web-"
  }`))
	tf.run("query", "-generate-config-out=generated.tf")
	raw, err := os.ReadFile(filepath.Join(tf.dir, "generated.tf"))
	if err != nil {
		t.Fatalf("terraform query wrote no configuration: %v", err)
	}
	generated := string(raw)
	t.Logf("generated.tf:\n%s", generated)
	listed := append(append([]protocol.Server{}, f.web...), f.disabled)
	for _, s := range listed {
		for _, want := range []string{fmt.Sprintf("server_id = %q", s.ID), fmt.Sprintf("name                    = %q", s.Name)} {
			if !strings.Contains(generated, want) {
				t.Errorf("generated.tf has no %s", want)
			}
		}
	}
	if n := strings.Count(generated, "identity = {"); n != len(listed) {
		t.Errorf("generated.tf has %d import blocks by identity, want %d", n, len(listed))
	}
	if strings.Contains(generated, f.api.ID) || strings.Contains(generated, f.foreign.ID) {
		t.Errorf("generated.tf names a record the list block does not select")
	}

	out := tf.run("apply", "-auto-approve")
	if want := fmt.Sprintf("%d imported, 0 added, 0 changed, 0 destroyed", len(listed)); !strings.Contains(out, want) {
		t.Errorf("apply of the generated configuration does not say %q:\n%s", want, out)
	}
	if out := tf.run("plan", "-detailed-exitcode"); !strings.Contains(out, "No changes") {
		t.Errorf("plan after the import is not empty:\n%s", out)
	}
	tf.run("destroy", "-auto-approve")
	for _, s := range listed {
		if _, code := registryGet(t, reg, s.ID); code != http.StatusOK {
			t.Errorf("destroy deleted imported record %s (HTTP %d); it must leave it in place", s.ID, code)
		}
	}

	example := t.TempDir()
	writeFile(t, filepath.Join(example, "main.tf"), listCLIConfig)
	b, err := os.ReadFile("../../examples/list-resources/capiscio_server_identity/list-resource.tfquery.hcl")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(example, "list-resource.tfquery.hcl"), string(b))
	cmd := exec.Command(cliPath(), "validate", "-query", "-no-color")
	cmd.Dir, cmd.Env = example, tf.env
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "The configuration is valid") {
		t.Errorf("terraform validate -query of the list resource example: %v\n%s", err, out)
	}
}

// TestServerIdentityListResource_DocsMatchSchema: the list resource's page is
// written by hand, because tfplugindocs gets list resource schemas only from
// Terraform 1.14 and later and CI generates the docs with an older CLI. This
// checks that the page's Schema section lists exactly the list block's
// arguments with their descriptions, in tfplugindocs's format.
func TestServerIdentityListResource_DocsMatchSchema(t *testing.T) {
	t.Parallel()
	var resp list.ListResourceSchemaResponse
	NewServerIdentityListResource().ListResourceConfigSchema(context.Background(), list.ListResourceSchemaRequest{}, &resp)
	groups := map[string][]string{}
	for name, a := range resp.Schema.Attributes {
		kind := map[attr.Type]string{types.StringType: "String", types.BoolType: "Boolean", types.Int64Type: "Number"}[a.GetType()]
		if kind == "" {
			t.Fatalf("attribute %s has type %s: teach this test its tfplugindocs name", name, a.GetType())
		}
		group := "Optional"
		if a.IsRequired() {
			group = "Required"
		}
		groups[group] = append(groups[group], fmt.Sprintf("- `%s` (%s) %s", name, kind, a.GetMarkdownDescription()))
	}
	want := "## Schema\n"
	for _, group := range []string{"Required", "Optional"} {
		if lines := groups[group]; len(lines) > 0 {
			slices.Sort(lines)
			want += "\n### " + group + "\n\n" + strings.Join(lines, "\n") + "\n"
		}
	}
	page, err := os.ReadFile("../../docs/list-resources/server_identity.md")
	if err != nil {
		t.Fatal(err)
	}
	_, got, ok := strings.Cut(string(page), "\n## Schema\n")
	if got = "## Schema\n" + got; !ok || got != want {
		t.Errorf("docs/list-resources/server_identity.md does not document the list block's schema: update the Schema "+
			"section of templates/list-resources/server_identity.md.tmpl and run make generate.\n got:\n%s\nwant:\n%s", got, want)
	}
}
