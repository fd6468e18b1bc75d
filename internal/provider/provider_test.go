package provider

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/capiscio/terraform-provider-capiscio/internal/clock"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver/registrytest"
)

// TestMain points the Terraform CLI at a real (empty) CLI config file: the
// machine's TF_CLI_CONFIG_FILE may name a file that does not exist, which makes
// every command warn.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "capiscio-tfcli")
	if err != nil {
		panic(err)
	}
	rc := filepath.Join(dir, "terraformrc")
	if err := os.WriteFile(rc, nil, 0o600); err != nil {
		panic(err)
	}
	os.Setenv("TF_CLI_CONFIG_FILE", rc)
	// The provider block in every test names its registry; the environment
	// must not, except for acceptance tests (TF_ACC), which take their
	// registry and API key from it.
	if os.Getenv("TF_ACC") == "" {
		for _, k := range []string{EnvRegistryURL, EnvServerURL, EnvAPIKey} {
			os.Unsetenv(k)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testProviderFactories serves the provider in-process with the given clock.
func testProviderFactories(c clock.Clock) map[string]func() (tfprotov6.ProviderServer, error) {
	if c == nil {
		c = clock.Real{}
	}
	return map[string]func() (tfprotov6.ProviderServer, error){
		"capiscio": providerserver.NewProtocol6WithError(NewWithClock("test", c)()),
	}
}

// testRegistry starts the real local registry in-process for one test.
func testRegistry(t *testing.T, opts ...registrytest.Option) *registrytest.Registry {
	t.Helper()
	return registrytest.Start(t, opts...)
}

// providerBlock configures the provider for reg, with fast retries.
func providerBlock(reg *registrytest.Registry, extra string) string {
	return fmt.Sprintf(`
provider "capiscio" {
  registry_url = %[1]q
  api_key      = %[2]q
  %[3]s
}
`, reg.URL, reg.APIKey, extra)
}

// registryGet fetches a server record through the real HTTP API, out of band.
func registryGet(t *testing.T, reg *registrytest.Registry, id string) (protocol.Server, int) {
	t.Helper()
	resp, body := regDo(reg, http.MethodGet, "/v1/sdk/servers/"+id, nil)
	if resp.StatusCode != http.StatusOK {
		return protocol.Server{}, resp.StatusCode
	}
	var env protocol.Envelope[protocol.Server]
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("decoding server %s: %v", id, err)
	}
	return env.Data, resp.StatusCode
}

// registryCreate makes a server record out of band, as the dashboard would.
func registryCreate(t *testing.T, reg *registrytest.Registry, name, didKey, pubPEM string) protocol.Server {
	t.Helper()
	resp, body := regDo(reg, http.MethodPost, "/v1/sdk/servers", protocol.CreateServerRequest{Name: name, DID: didKey, PublicKey: pubPEM})
	if resp.StatusCode/100 != 2 {
		t.Fatalf("creating server out of band: HTTP %d: %s", resp.StatusCode, body)
	}
	var env protocol.Envelope[protocol.Server]
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	return env.Data
}

// stateAttrs returns the attribute values of one resource in a tfjson state.
func stateAttrs(state *tfjson.State, addr string) (map[string]any, error) {
	if state == nil || state.Values == nil || state.Values.RootModule == nil {
		return nil, fmt.Errorf("no state")
	}
	for _, r := range state.Values.RootModule.Resources {
		if r.Address == addr {
			return r.AttributeValues, nil
		}
	}
	return nil, fmt.Errorf("resource %s not in state", addr)
}

// unitTest runs a harness test in parallel with the others.
func unitTest(t *testing.T, tc resource.TestCase) {
	t.Helper()
	t.Parallel()
	resource.UnitTest(t, tc)
}

// registryCreateWithKey makes a record out of band with another
// organisation's API key.
func registryCreateWithKey(t *testing.T, reg *registrytest.Registry, apiKey string) protocol.Server {
	t.Helper()
	m := newTestKey(t)
	resp, body := reg.DoWithKey(t, apiKey, http.MethodPost, "/v1/sdk/servers", protocol.CreateServerRequest{Name: "other-org", DID: m.DIDKey, PublicKey: m.PEM})
	if resp.StatusCode/100 != 2 {
		t.Fatalf("creating a record out of band: HTTP %d: %s", resp.StatusCode, body)
	}
	var env protocol.Envelope[protocol.Server]
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	return env.Data
}
