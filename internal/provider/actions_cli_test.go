package provider

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver/registrytest"
)

// Binary-level action tests: the real provider binary under the real CLI
// (cliPath: TF_ACC_TERRAFORM_PATH, else terraform on PATH), with dev_overrides
// and the local registry in-process. Actions need Terraform >= 1.14, so these
// tests skip under older CLIs and OpenTofu; run them with
//
//	TF_ACC_TERRAFORM_PATH=$(./scripts/terraform.sh) go test -run 'TestActions' ./internal/provider/
//
// (make test-matrix runs them in its terraform-1.16 leg).

// actionsConfig declares one action of each type on the identity of
// writeConfigExtra, the way the incident-response guide does.
const actionsConfig = `
action "capiscio_server_disable" "incident" {
  config {
    server_id = capiscio_server_identity.test.id
  }
}
action "capiscio_server_enable" "recovered" {
  config {
    server_id = capiscio_server_identity.test.id
  }
}
action "capiscio_badge_revoke" "leaked" {
  config {
    jti    = capiscio_server_identity.test.badge_jti
    reason = "leaked in a CI log"
  }
}
action "capiscio_server_verify" "deployed" {
  config {
    server_id      = capiscio_server_identity.test.id
    public_key_pem = capiscio_server_identity.test.public_key_pem
  }
}
`

// TestActions_InvokeChangesRegistryNotState invokes each action with
// terraform apply -invoke, as an operator or a pipeline would: each one
// changes the registry as documented (read back through the registry's own
// routes, the public status routes included) and leaves the state file byte
// for byte as it was; the identity shows a new status only after a refresh.
// verify passes on a healthy identity and fails, with its own error, on a
// disabled record and on a record holding another key. No badge and no API
// key reaches the CLI output or the TRACE log.
func TestActions_InvokeChangesRegistryNotState(t *testing.T) {
	requireActionsCLI(t)
	t.Parallel()
	var tap badgeTap
	reg := registrytest.Start(t, registrytest.WithMiddleware(tap.middleware))
	tf := newCLIRun(t, reg)
	tf.writeConfigExtra(`name = "incident-drill"`, actionsConfig)
	tf.run("apply", "-auto-approve")
	id, jti := tf.stateAttr("id"), tf.stateAttr("badge_jti")
	if id == "" || jti == "" {
		t.Fatalf("the identity has no id (%q) or first badge (%q)", id, jti)
	}

	out := tf.checkStateKept("plan", "-invoke=action.capiscio_server_disable.incident")
	wantOutput(t, "plan -invoke", out, "Actions: 1 to invoke", `action "capiscio_server_disable" "incident"`)
	wantStatus(t, reg, id, protocol.StatusActive)

	out = tf.checkStateKept("apply", "-auto-approve", "-invoke=action.capiscio_server_verify.deployed")
	wantOutput(t, "verify", out, "Server record "+id+" verified", "Actions: 1 invoked")

	out = tf.checkStateKept("apply", "-auto-approve", "-invoke=action.capiscio_server_disable.incident")
	wantOutput(t, "disable", out, "asking the registry to disable it", "is now disabled", "Actions: 1 invoked")
	wantStatus(t, reg, id, protocol.StatusDisabled)
	if got := tf.stateAttr("status"); got != protocol.StatusActive {
		t.Errorf("state says %q right after the action; an action must not write state", got)
	}

	// The next refresh shows the status (every -invoke run refreshes first,
	// so the next invocation would record it too); a normal plan changes
	// nothing.
	tf.run("apply", "-auto-approve", "-refresh-only")
	if got := tf.stateAttr("status"); got != protocol.StatusDisabled {
		t.Errorf("state says %q after a refresh, want disabled", got)
	}
	out = tf.checkStateKept("apply", "-auto-approve", "-invoke=action.capiscio_server_disable.incident")
	wantOutput(t, "disable again", out, "is already disabled; nothing to do")
	wantOutput(t, "plan of a disabled record", tf.run("plan"), "No changes", "Server Record Disabled")

	out = tf.checkStateKept("apply!", "-auto-approve", "-invoke=action.capiscio_server_verify.deployed")
	wantOutput(t, "verify a disabled record", out, "Error: Server Record Not Active", "disabled since")

	out = tf.checkStateKept("apply", "-auto-approve", "-invoke=action.capiscio_badge_revoke.leaked")
	wantOutput(t, "revoke", out, "Revoking badge "+jti, "is revoked", `reason "leaked in a CI log"`)
	if st := badgeStatusOf(t, reg, jti); !st.Revoked || st.Reason != "leaked in a CI log" {
		t.Errorf("badge status after the action = %+v, want revoked with the reason given", st)
	}

	out = tf.checkStateKept("apply", "-auto-approve", "-invoke=action.capiscio_server_enable.recovered")
	wantOutput(t, "enable", out, "asking the registry to enable it", "is now active")
	wantStatus(t, reg, id, protocol.StatusActive)
	tf.run("apply", "-auto-approve", "-refresh-only")
	out = tf.checkStateKept("apply", "-auto-approve", "-invoke=action.capiscio_server_verify.deployed")
	wantOutput(t, "verify after enable", out, "Server record "+id+" verified")

	// Another key registered out of band: the refresh records the drift in
	// did_key (Terraform's doing, not the action's), public_key_pem stays
	// the declared key, and verify fails.
	rogue := newTestKey(t)
	if resp, body := reg.Do(t, http.MethodPut, "/v1/sdk/servers/"+id, protocol.RegisterKeyRequest{DID: rogue.DIDKey, PublicKey: rogue.PEM}); resp.StatusCode != http.StatusOK {
		t.Fatalf("out-of-band key: HTTP %d %s", resp.StatusCode, body)
	}
	out = tf.runFailing(nil, "apply", "-auto-approve", "-invoke=action.capiscio_server_verify.deployed")
	wantOutput(t, "verify after another key", out, "Error: Server Record Holds Another Key", rogue.DIDKey, "public_key_pem")

	if tap.count() != 3 {
		t.Fatalf("the registry issued %d badges; want 3: the first one and one per passing verify", tap.count())
	}
	logs, _ := os.ReadFile(tf.logPath)
	if !strings.Contains(string(logs), "Action progress") {
		t.Fatal("the TRACE log has no action progress line: the provider's logs were not searched")
	}
	haystack := string(logs) + tf.output.String()
	for _, s := range append(tap.secrets(), secret{"the API key", reg.APIKey}) {
		if strings.Contains(haystack, s.value) {
			t.Errorf("%s found in the CLI output or the TRACE log", s.what)
		}
	}
}

// TestActions_TriggerAfterCreate runs capiscio_server_verify from an
// action_trigger on the resource that deploys the MCP server (terraform_data
// here): it runs after the create, a failed check with on_failure = continue
// is a warning and the apply succeeds, and with on_failure = halt the apply
// fails.
func TestActions_TriggerAfterCreate(t *testing.T) {
	requireActionsCLI(t)
	t.Parallel()
	reg := registrytest.Start(t)
	tf := newCLIRun(t, reg)
	tf.env = append(tf.env, "TF_LOG=")
	trigger := func(onFailure string) string {
		return `
resource "terraform_data" "deploy" {
  input = capiscio_server_identity.test.id
  lifecycle {
    action_trigger {
      events     = [after_create, after_update]
      actions    = [action.capiscio_server_verify.after_deploy]
      on_failure = ` + onFailure + `
    }
  }
}
action "capiscio_server_verify" "after_deploy" {
  config {
    server_id      = capiscio_server_identity.test.id
    public_key_pem = file("${path.module}/deployed.pub")
  }
}
`
	}
	deployed := filepath.Join(tf.dir, "deployed.pub")
	writeFile(t, deployed, newTestKey(t).PEM) // a key the record does not hold
	tf.writeConfigExtra(`name = "deploy"`, trigger("continue"))
	out := tf.run("apply", "-auto-approve")
	wantOutput(t, "continue", out, "triggered by terraform_data.deploy", "Warning: Server Record Holds Another Key",
		"Resources: 2 added", "Actions: 1 invoked, 1 failed")
	if strings.Contains(out, "Error:") {
		t.Errorf("on_failure = continue still printed an error:\n%s", out)
	}

	writeFile(t, deployed, tf.stateAttr("public_key_pem"))
	out = tf.run("apply", "-auto-approve", "-replace=terraform_data.deploy")
	wantOutput(t, "healthy", out, "triggered by terraform_data.deploy", "verified", "Actions: 1 invoked")
	if strings.Contains(out, "Warning: Server Record") {
		t.Errorf("a healthy identity got a warning:\n%s", out)
	}

	writeFile(t, deployed, newTestKey(t).PEM)
	tf.writeConfigExtra(`name = "deploy"`, trigger("halt"))
	out = tf.runFailing(nil, "apply", "-auto-approve", "-replace=terraform_data.deploy")
	wantOutput(t, "halt", out, "Error: Server Record Holds Another Key", "called from terraform_data.deploy")
}

// TestActions_ExamplesValidate validates the examples of the action pages.
// They are snippets, as the other pages' examples are, so TestExamples_Validate
// leaves them out; here each gets a terraform block and the identity it names.
// (TestExamples_Validate validates the incident-response guide's whole
// configuration, under a CLI that has actions.)
func TestActions_ExamplesValidate(t *testing.T) {
	requireActionsCLI(t)
	t.Parallel()
	dirs, _ := filepath.Glob("../../examples/actions/*")
	if len(dirs) != 4 {
		t.Fatalf("found %d action example directories, want one per action: %v", len(dirs), dirs)
	}
	tf := newCLIRun(t, nil)
	tf.env = append(tf.env, "TF_LOG=")
	for _, dir := range dirs {
		work := t.TempDir()
		if text := copyTF(t, dir, work); !actionBlockRe.MatchString(text) {
			t.Errorf("%s has no action block", dir)
		}
		writeFile(t, filepath.Join(work, "header.tf"), `terraform {
  required_providers {
    capiscio = { source = "capiscio/capiscio" }
  }
}
resource "capiscio_server_identity" "api" {}
`)
		cmd := exec.Command(cliPath(), "validate", "-no-color")
		cmd.Dir, cmd.Env = work, tf.env
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "The configuration is valid") {
			t.Errorf("terraform validate %s: %v\n%s", dir, err, out)
		}
	}
}

// requireActionsCLI skips the test unless the CLI runs actions.
func requireActionsCLI(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the provider binary")
	}
	if ok, why := actionsCLI(t); !ok {
		t.Skip(why)
	}
}

// actionBlockRe finds action blocks in a configuration.
var actionBlockRe = regexp.MustCompile(`(?m)^action\s+"`)

// actionsCLI reports whether the CLI runs actions, and if not, why, for a
// skip message. Terraform has them since 1.14; OpenTofu has no action blocks
// (1.12.6 checked), and neither has Terraform 1.11 on PATH.
func actionsCLI(t *testing.T) (bool, string) {
	t.Helper()
	cmd := exec.Command(cliPath(), "version")
	cmd.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s version: %v", cliPath(), err)
	}
	line, _, _ := bufio.NewReader(bytes.NewReader(out)).ReadLine()
	var name string
	var major, minor int
	if _, err := fmt.Sscanf(string(line), "%s v%d.%d", &name, &major, &minor); err != nil {
		t.Fatalf("cannot read the version of %s from %q: %v", cliPath(), line, err)
	}
	const hint = "run with TF_ACC_TERRAFORM_PATH=$(./scripts/terraform.sh), which builds Terraform 1.16"
	switch {
	case name == "OpenTofu":
		return false, fmt.Sprintf("%s has no actions (action blocks, -invoke, action_trigger; OpenTofu 1.12.6 was checked); %s", line, hint)
	case name != "Terraform":
		return false, fmt.Sprintf("%q is not a CLI these tests know; %s", line, hint)
	case major == 1 && minor < 14:
		return false, fmt.Sprintf("%s has no actions: they need Terraform >= 1.14; %s", line, hint)
	}
	return true, ""
}

// checkStateKept runs terraform and fails the test when the state file
// changed (byte for byte). A leading "!" on the command ("apply!") expects
// the command to fail.
func (r *cliRun) checkStateKept(args ...string) string {
	r.t.Helper()
	path := filepath.Join(r.dir, "terraform.tfstate")
	before, err := os.ReadFile(path)
	if err != nil {
		r.t.Fatal(err)
	}
	var out string
	if cmd, failing := strings.CutSuffix(args[0], "!"); failing {
		out = r.runFailing(nil, append([]string{cmd}, args[1:]...)...)
	} else {
		out = r.run(args...)
	}
	after, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(before, after) {
		r.t.Errorf("terraform %s changed the state file (%d bytes before, %d after): an action must change no state",
			strings.Join(args, " "), len(before), len(after))
	}
	return out
}

// wantOutput checks that a command's output says every one of want.
func wantOutput(t *testing.T, step, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("%s: the output does not say %q:\n%s", step, w, out)
		}
	}
}

// wantStatus checks a record's status through the authenticated route and
// the public one verifiers read.
func wantStatus(t *testing.T, reg *registrytest.Registry, id, want string) {
	t.Helper()
	if s, code := registryGet(t, reg, id); s.Status != want {
		t.Errorf("record %s is %q (HTTP %d), want %q", id, s.Status, code, want)
	}
	if got := serverStatusOf(t, reg, id); got != want {
		t.Errorf("the public status of record %s is %q, want %q", id, got, want)
	}
}
