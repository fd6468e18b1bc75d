package provider

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

// fixtureRegistry is the registry address the version 0 fixture was written
// against; the test moves it to a port it listens on itself.
const fixtureRegistry = "127.0.0.1:18080"

// TestStateUpgrade_V0 takes a state written by the version 0 provider
// (testdata/TestStateUpgrade_V0: generate, external and write-only
// identities) and plans and applies its configuration with this provider
// and -refresh=false. The upgrade must need no registry call (a listener on
// the registry's address counts connections and must see none) and leave the
// plan empty; after the apply the state is version 1 with the removed
// attributes gone and every kept value, the private key first, unchanged.
func TestStateUpgrade_V0(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the provider binary")
	}
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var connections atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			connections.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })

	tf := newCLIRun(t, nil)
	fixture := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata", "TestStateUpgrade_V0", name))
		if err != nil {
			t.Fatal(err)
		}
		s := strings.ReplaceAll(string(b), fixtureRegistry, ln.Addr().String())
		s = strings.ReplaceAll(s, strings.ReplaceAll(fixtureRegistry, ":", "%3A"), strings.ReplaceAll(ln.Addr().String(), ":", "%3A"))
		if host := os.Getenv("TF_ACC_PROVIDER_HOST"); host != "" {
			s = strings.ReplaceAll(s, "registry.terraform.io/capiscio/capiscio", host+"/capiscio/capiscio")
		}
		return s
	}
	for _, name := range []string{"main.tf", "ext.pub.pem"} {
		writeFile(t, filepath.Join(tf.dir, name), fixture(name))
	}
	v0 := fixture("v0.tfstate")
	writeFile(t, filepath.Join(tf.dir, "terraform.tfstate"), v0)

	// The first plan changes no attribute. It is not quite empty: version 0
	// flagged private_key_wo sensitive, version 1 does not (a write-only value
	// is never stored, the flag only cost every identity a state entry), and
	// Terraform plans an in-place update whenever only the sensitivity of an
	// attribute changes, to rewrite the state's list of sensitive paths. No
	// provider can avoid that; the update calls no registry and changes no
	// value, and the next plan is empty.
	tf.run("plan", "-refresh=false", "-out=upgrade.tfplan")
	checkMarksOnlyUpdates(t, tf.run("show", "-json", "upgrade.tfplan"), 3)
	tf.run("apply", "-auto-approve", "upgrade.tfplan")
	if code := tf.planExitCode("-refresh=false"); code != 0 {
		t.Fatalf("second plan exits %d, want 0", code)
	}
	if n := connections.Load(); n != 0 {
		t.Errorf("the upgrade made %d connections to the registry; it must make none", n)
	}

	upgraded, err := os.ReadFile(filepath.Join(tf.dir, "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	before, after := instancesOf(t, []byte(v0)), instancesOf(t, upgraded)
	if len(after) != 3 {
		t.Fatalf("%d identities after the upgrade, want 3", len(after))
	}
	for name, old := range before {
		got := after[name]
		if got.SchemaVersion != 1 {
			t.Errorf("%s: schema_version %d, want 1", name, got.SchemaVersion)
		}
		for _, gone := range removedInV1 {
			if _, ok := got.Attributes[gone]; ok {
				t.Errorf("%s: %s is still in state", name, gone)
			}
		}
		for k, v := range old.Attributes {
			if slices.Contains(removedInV1, k) {
				continue
			}
			if a, b := mustJSON(t, v), mustJSON(t, got.Attributes[k]); a != b {
				t.Errorf("%s: %s changed in the upgrade: %s -> %s", name, k, a, b)
			}
		}
		if _, ok := got.Attributes["status"]; !ok {
			t.Errorf("%s: no status attribute after the upgrade", name)
		}
		if len(mustJSON(t, got.Attributes)) >= len(mustJSON(t, old.Attributes)) {
			t.Errorf("%s: the upgraded attributes are not smaller than version 0's", name)
		}
	}
}

type stateInstance struct {
	SchemaVersion int            `json:"schema_version"`
	Attributes    map[string]any `json:"attributes"`
	Private       string         `json:"private"`
}

// instancesOf returns the first instance of every resource in a state file, by name.
func instancesOf(t *testing.T, raw []byte) map[string]stateInstance {
	t.Helper()
	var st struct {
		Resources []struct {
			Name      string          `json:"name"`
			Instances []stateInstance `json:"instances"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatalf("state: %v", err)
	}
	out := map[string]stateInstance{}
	for _, r := range st.Resources {
		if len(r.Instances) > 0 {
			out[r.Name] = r.Instances[0]
		}
	}
	return out
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkMarksOnlyUpdates checks a plan in JSON: at most maxChanges resource changes,
// each an in-place update whose values before and after are equal and which
// only stops treating private_key_wo as sensitive. (OpenTofu plans no update
// where the configuration itself marks private_key_wo sensitive.)
func checkMarksOnlyUpdates(t *testing.T, planJSON string, maxChanges int) {
	t.Helper()
	var plan struct {
		ResourceChanges []struct {
			Address string `json:"address"`
			Change  struct {
				Actions         []string        `json:"actions"`
				Before          json.RawMessage `json:"before"`
				After           json.RawMessage `json:"after"`
				AfterUnknown    map[string]any  `json:"after_unknown"`
				BeforeSensitive map[string]any  `json:"before_sensitive"`
				AfterSensitive  map[string]any  `json:"after_sensitive"`
			} `json:"change"`
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal([]byte(planJSON[strings.Index(planJSON, "{"):]), &plan); err != nil {
		t.Fatalf("plan JSON: %v", err)
	}
	if len(plan.ResourceChanges) > maxChanges {
		t.Fatalf("%d resource changes, want at most %d", len(plan.ResourceChanges), maxChanges)
	}
	for _, rc := range plan.ResourceChanges {
		c := rc.Change
		if len(c.Actions) != 1 || (c.Actions[0] != "update" && c.Actions[0] != "no-op") {
			t.Errorf("%s: actions %v, want [update] or [no-op]", rc.Address, c.Actions)
		}
		if string(c.Before) != string(c.After) || len(c.AfterUnknown) != 0 {
			t.Errorf("%s: the upgrade changes values:\nbefore %s\nafter  %s\nunknown %v", rc.Address, c.Before, c.After, c.AfterUnknown)
		}
		delete(c.BeforeSensitive, "private_key_wo")
		delete(c.AfterSensitive, "private_key_wo") // still marked where the configuration marks it
		if mustJSON(t, c.BeforeSensitive) != mustJSON(t, c.AfterSensitive) {
			t.Errorf("%s: sensitivity changes beyond private_key_wo: %v -> %v", rc.Address, c.BeforeSensitive, c.AfterSensitive)
		}
	}
}

// planExitCode runs terraform plan -detailed-exitcode and returns its exit
// code: 0 no changes, 2 changes; anything else fails the test.
func (r *cliRun) planExitCode(args ...string) int {
	r.t.Helper()
	cmd := exec.Command(cliPath(), append([]string{"plan", "-no-color", "-detailed-exitcode"}, args...)...)
	cmd.Dir, cmd.Env = r.dir, r.env
	out, err := cmd.CombinedOutput()
	r.output.Write(out)
	code := cmd.ProcessState.ExitCode()
	if err != nil && code != 2 {
		r.t.Fatalf("terraform plan: %v\n%s", err, out)
	}
	if code == 2 {
		r.t.Logf("plan output:\n%s", out)
	}
	return code
}
