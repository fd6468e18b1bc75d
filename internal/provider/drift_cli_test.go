package provider

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver/registrytest"
)

// TestDrift_UnprovenNotFoundKeepsState is the case that used to cost users
// their keys: an API key of another organisation, or a registry URL with /v1
// at its end, makes every read answer 404. Plan and apply must fail and name
// the cause, and the state file must stay byte for byte what it was, with
// every generated key in it.
func TestDrift_UnprovenNotFoundKeepsState(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the provider binary")
	}
	t.Parallel()
	reg := registrytest.Start(t)
	tf := newCLIRun(t, reg)
	tf.env = append(tf.env, "TF_LOG=")
	tf.writeConfigExtra("count = 3\n  issue_badge = false", "")
	tf.run("apply", "-auto-approve")
	statePath := filepath.Join(tf.dir, "terraform.tfstate")
	before, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range tf.stateIDs() {
		if _, code := registryGet(t, reg, id); code != http.StatusOK {
			t.Fatalf("record %s missing after apply (HTTP %d)", id, code)
		}
	}
	cases := map[string]struct {
		env  string
		want []string
	}{
		"API key of another organisation": {
			env:  "TF_VAR_api_key=" + reg.SecondOrgKey(t),
			want: []string{"Server Record Not Confirmed Deleted", "another organisation", "api_key"},
		},
		"registry URL with /v1": {
			env:  "TF_VAR_registry_url=" + reg.URL + "/v1",
			want: []string{"Server Record Not Confirmed Deleted", "registry_url", "/v1"},
		},
	}
	for name, c := range cases {
		for _, args := range [][]string{{"plan"}, {"apply", "-auto-approve"}} {
			out := tf.runFailing([]string{c.env}, args...)
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("%s: terraform %s does not say %q:\n%s", name, args[0], w, out)
				}
			}
			after, err := os.ReadFile(statePath)
			if err != nil || !bytes.Equal(before, after) {
				t.Fatalf("%s: terraform %s changed the state file", name, args[0])
			}
		}
	}
	var st struct {
		Resources []struct {
			Instances []stateInstance `json:"instances"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(before, &st); err != nil || len(st.Resources) != 1 || len(st.Resources[0].Instances) != 3 {
		t.Fatalf("state: %v", err)
	}
	for i, inst := range st.Resources[0].Instances {
		if pemText, _ := inst.Attributes["private_key_pem"].(string); !strings.Contains(pemText, "BEGIN PRIVATE KEY") {
			t.Fatalf("identity %d has no private key in state", i)
		}
	}
	// With the right settings everything is still there and nothing is planned.
	if out := tf.run("plan", "-detailed-exitcode"); !strings.Contains(out, "No changes") {
		t.Fatalf("plan with the right settings is not empty:\n%s", out)
	}
}

// TestDrift_PlanMessages checks what a user reads in the plan for the two
// kinds of drift that change nothing by themselves or are mended in place: a
// disabled record (no change, a warning with the two ways forward) and
// another key registered on the record (an in-place update, a warning that
// says so).
func TestDrift_PlanMessages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the provider binary")
	}
	t.Parallel()
	reg := registrytest.Start(t)
	tf := newCLIRun(t, reg)
	tf.env = append(tf.env, "TF_LOG=")
	tf.writeConfigExtra("count = 2\n  issue_badge = false", "")
	tf.run("apply", "-auto-approve")
	ids := tf.stateIDs()
	if resp, body := regDo(reg, http.MethodPost, "/v1/sdk/servers/"+ids[0]+"/disable", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("disable: HTTP %d %s", resp.StatusCode, body)
	}
	out := tf.run("plan", "-detailed-exitcode")
	for _, want := range []string{"No changes", "Server Record Disabled", ids[0], "enable", "-replace"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan for a disabled record does not say %q:\n%s", want, out)
		}
	}
	rogue := newTestKey(t)
	if resp, body := regDo(reg, http.MethodPut, "/v1/sdk/servers/"+ids[1], protocol.RegisterKeyRequest{DID: rogue.DIDKey, PublicKey: rogue.PEM}); resp.StatusCode != http.StatusOK {
		t.Fatalf("out-of-band key: HTTP %d %s", resp.StatusCode, body)
	}
	out = tf.planAllowingChanges()
	for _, want := range []string{"Server Key Will Be Registered Again", rogue.DIDKey, "0 to add, 1 to change, 0 to destroy", "updated in-place"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan for another registered key does not say %q:\n%s", want, out)
		}
	}
	tf.run("apply", "-auto-approve")
	if s, _ := registryGet(t, reg, ids[0]); s.Status != protocol.StatusDisabled {
		t.Errorf("record %s is %s after the apply; an operator disabled it and it must stay so", ids[0], s.Status)
	}
	if s, _ := registryGet(t, reg, ids[1]); s.DIDKey == rogue.DIDKey {
		t.Errorf("record %s still holds the other key after the apply", ids[1])
	}
}

// runFailing runs terraform with extra environment variables and wants it to
// fail; it returns what terraform printed.
func (r *cliRun) runFailing(extraEnv []string, args ...string) string {
	r.t.Helper()
	cmd := exec.Command(cliPath(), append(args[:1:1], append([]string{"-no-color"}, args[1:]...)...)...)
	cmd.Dir, cmd.Env = r.dir, append(append([]string{}, r.env...), extraEnv...)
	out, err := cmd.CombinedOutput()
	r.output.Write(out)
	if err == nil {
		r.t.Fatalf("terraform %s succeeded; want a failure:\n%s", strings.Join(args, " "), out)
	}
	return string(out)
}
