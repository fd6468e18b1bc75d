package provider

import (
	"archive/zip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver/registrytest"
)

// TestSecretHygiene_TraceLogs runs a full lifecycle (create, refresh, update,
// replace, import, destroy, and an ephemeral badge handed to a provisioner
// through a saved plan) with the real provider binary under the real
// Terraform CLI at TF_LOG=TRACE, then searches everything Terraform and the
// provider wrote (logs, stdout, stderr, the plan file) for the API key, every
// base64 line of every private key, the one-line env form and every badge the
// registry issued. The API key and the badges must not be in state either.
func TestSecretHygiene_TraceLogs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the provider binary")
	}
	t.Parallel()
	var tap badgeTap
	reg := registrytest.Start(t, registrytest.WithMiddleware(tap.middleware))
	tf := newCLIRun(t, reg)
	tf.writeConfig(`name = "hygiene-a"`)
	tf.run("apply", "-auto-approve")
	tf.collectSecrets()
	tf.writeConfigExtra(`name = "hygiene-a"`, smokeTestConfig)
	tf.run("plan", "-out=smoke.tfplan")
	tf.run("apply", "smoke.tfplan")
	planFile := tf.readPlanFile("smoke.tfplan")
	if n := tap.count(); n < 3 {
		t.Fatalf("the registry issued %d badges; want the first badge and two ephemeral ones (plan and apply)", n)
	}
	plan := tf.run("plan", "-replace=capiscio_server_identity.test")
	tf.writeConfig(`name = "hygiene-b"`)
	tf.run("apply", "-auto-approve")
	tf.run("apply", "-auto-approve", "-replace=capiscio_server_identity.test")
	tf.collectSecrets()
	id := tf.stateAttr("id")
	tf.run("state", "rm", "capiscio_server_identity.test")
	tf.run("import", "capiscio_server_identity.test", id)
	tf.run("apply", "-auto-approve", "-replace=capiscio_server_identity.test")
	tf.collectSecrets()
	tf.run("destroy", "-auto-approve")

	if !strings.Contains(plan, "(sensitive value)") {
		t.Errorf("plan output does not mark sensitive values")
	}
	if len(tf.secrets) < 7 {
		t.Fatalf("collected only %d secrets; the test would prove nothing", len(tf.secrets))
	}
	logs, err := os.ReadFile(tf.logPath)
	if err != nil || len(logs) < 10000 {
		t.Fatalf("TRACE log missing or short (%d bytes): %v", len(logs), err)
	}
	// With TF_LOG set the plugin SDK's own loggers stay on (main.go silences
	// them only when Terraform keeps no provider logs), so the search below
	// covers what the framework and this provider log, not just Terraform core.
	for _, want := range []string{"@module=sdk.framework", "@module=sdk.proto", "Created server identity"} {
		if !strings.Contains(string(logs), want) {
			t.Errorf("TRACE log has no %q line: the provider's own logs were not searched", want)
		}
	}
	tf.secrets = append(tf.secrets, tap.secrets()...)
	haystack := string(logs) + tf.output.String()
	for _, s := range tf.secrets {
		if strings.Contains(haystack, s.value) {
			t.Errorf("%s found in logs or CLI output", s.what)
		}
	}
	// A saved plan holds the prior state and the variables (the private key
	// and the API key are there by Terraform's design: plan files are
	// secrets), but never an ephemeral value.
	for _, s := range tap.secrets() {
		if strings.Contains(planFile, s.value) {
			t.Errorf("%s found in the saved plan file", s.what)
		}
	}
	state, _ := os.ReadFile(filepath.Join(tf.dir, "terraform.tfstate"))
	state = append(state, tf.readBackup()...)
	for _, s := range append(tap.secrets(), secret{"the API key", reg.APIKey}) {
		if strings.Contains(string(state), s.value) {
			t.Errorf("%s is in the state file", s.what)
		}
	}
}

// smokeTestConfig hands a fresh ephemeral badge to a provisioner, the way a
// smoke test calls a deployed MCP server.
const smokeTestConfig = `
ephemeral "capiscio_server_badge" "smoke" {
  server_id = capiscio_server_identity.test.id
}
resource "terraform_data" "smoke" {
  input = capiscio_server_identity.test.id
  provisioner "local-exec" {
    command     = "test -n \"$BADGE\""
    environment = { BADGE = ephemeral.capiscio_server_badge.smoke.badge }
  }
}
`

// badgeTap records every badge the registry hands out, in front of the real
// handler, so the hygiene tests know every token to look for.
type badgeTap struct {
	mu     sync.Mutex
	tokens []string
}

func (b *badgeTap) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/badge") {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var env protocol.Envelope[protocol.Badge]
		if json.Unmarshal(rec.Body.Bytes(), &env) == nil && env.Data.Badge != "" {
			b.mu.Lock()
			b.tokens = append(b.tokens, env.Data.Badge)
			b.mu.Unlock()
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

func (b *badgeTap) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.tokens)
}

// secrets lists every badge and, on its own, every badge's signature.
func (b *badgeTap) secrets() []secret {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []secret
	for _, tok := range b.tokens {
		out = append(out, secret{"a badge", tok})
		if parts := strings.Split(tok, "."); len(parts) == 3 {
			out = append(out, secret{"a badge signature", parts[2]})
		}
	}
	return out
}

type secret struct{ what, value string }

type cliRun struct {
	t       *testing.T
	dir     string
	logPath string
	env     []string
	output  strings.Builder
	secrets []secret
	apiKey  string
}

// newCLIRun builds the provider and prepares a working directory whose CLI
// config points Terraform at it with dev_overrides (no download, no init).
func newCLIRun(t *testing.T, reg *registrytest.Registry) *cliRun {
	t.Helper()
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "terraform-provider-capiscio"), "github.com/capiscio/terraform-provider-capiscio")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the provider: %v\n%s", err, out)
	}
	dir := t.TempDir()
	rc := filepath.Join(dir, "terraformrc")
	writeFile(t, rc, `provider_installation {
  dev_overrides {
    "registry.terraform.io/capiscio/capiscio" = "`+bin+`"
    "registry.opentofu.org/capiscio/capiscio" = "`+bin+`"
  }
  direct {}
}
`)
	r := &cliRun{t: t, dir: dir, logPath: filepath.Join(dir, "trace.log")}
	r.env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "TF_LOG=TRACE", "TF_LOG_PATH="+r.logPath,
		"TF_IN_AUTOMATION=1", "TF_INPUT=0")
	if reg != nil { // nil: the test writes its own provider block
		r.apiKey = reg.APIKey
		r.env = append(r.env, "TF_VAR_registry_url="+reg.URL, "TF_VAR_api_key="+reg.APIKey)
		r.secrets = append(r.secrets, secret{"the API key", reg.APIKey})
	}
	return r
}

func (r *cliRun) writeConfig(body string) { r.writeConfigExtra(body, "") }

// writeConfigExtra writes main.tf with body inside the identity resource and
// extra at the top level.
func (r *cliRun) writeConfigExtra(body, extra string) {
	writeFile(r.t, filepath.Join(r.dir, "main.tf"), extra+`
terraform {
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
resource "capiscio_server_identity" "test" {
  `+body+`
}
`)
}

func (r *cliRun) run(args ...string) string {
	r.t.Helper()
	cmd := exec.Command(cliPath(), append(args[:1:1], append([]string{"-no-color"}, args[1:]...)...)...)
	if args[0] == "state" || args[0] == "import" {
		cmd = exec.Command(cliPath(), args...)
	}
	cmd.Dir, cmd.Env = r.dir, r.env
	out, err := cmd.CombinedOutput()
	r.output.Write(out)
	if err != nil {
		r.t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (r *cliRun) stateAttr(name string) string {
	r.t.Helper()
	raw, err := os.ReadFile(filepath.Join(r.dir, "terraform.tfstate"))
	if err != nil {
		r.t.Fatal(err)
	}
	var st struct {
		Resources []struct {
			Instances []struct {
				Attributes map[string]any `json:"attributes"`
			} `json:"instances"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(raw, &st); err != nil || len(st.Resources) == 0 || len(st.Resources[0].Instances) == 0 {
		r.t.Fatalf("state: %v", err)
	}
	s, _ := st.Resources[0].Instances[0].Attributes[name].(string)
	return s
}

// collectSecrets records the current key and badge in every form a leak could take.
func (r *cliRun) collectSecrets() {
	r.t.Helper()
	pemText := r.stateAttr("private_key_pem")
	if pemText == "" {
		r.t.Fatal("no private key in state to look for")
	}
	r.secrets = append(r.secrets, secret{"the one-line private key", keys.EnvEscape(pemText)})
	for _, line := range strings.Split(pemText, "\n") {
		if line != "" && !strings.HasPrefix(line, "-----") {
			r.secrets = append(r.secrets, secret{"a base64 line of the private key", line})
		}
	}
}

// readPlanFile returns the uncompressed contents of every entry of a saved
// plan (a zip archive), so a search sees what Terraform wrote, not deflate.
func (r *cliRun) readPlanFile(name string) string {
	r.t.Helper()
	zr, err := zip.OpenReader(filepath.Join(r.dir, name))
	if err != nil {
		r.t.Fatalf("opening the plan file: %v", err)
	}
	defer zr.Close()
	var all strings.Builder
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			r.t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			r.t.Fatal(err)
		}
		all.Write(b)
	}
	if all.Len() < 1000 {
		r.t.Fatalf("the plan file holds only %d bytes; the search would prove nothing", all.Len())
	}
	return all.String()
}

// stateIDs returns the ids of every identity instance in state, in index order.
func (r *cliRun) stateIDs() []string {
	r.t.Helper()
	raw, err := os.ReadFile(filepath.Join(r.dir, "terraform.tfstate"))
	if err != nil {
		r.t.Fatal(err)
	}
	var st struct {
		Resources []struct {
			Instances []struct {
				Attributes map[string]any `json:"attributes"`
			} `json:"instances"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(raw, &st); err != nil || len(st.Resources) == 0 {
		r.t.Fatalf("state: %v", err)
	}
	var ids []string
	for _, in := range st.Resources[0].Instances {
		id, _ := in.Attributes["id"].(string)
		ids = append(ids, id)
	}
	return ids
}

// planAllowingChanges runs terraform plan and returns its output; exit code 2
// (changes present) is not a failure.
func (r *cliRun) planAllowingChanges() string {
	r.t.Helper()
	cmd := exec.Command(cliPath(), "plan", "-no-color", "-detailed-exitcode")
	cmd.Dir, cmd.Env = r.dir, r.env
	out, err := cmd.CombinedOutput()
	r.output.Write(out)
	if err != nil && cmd.ProcessState.ExitCode() != 2 {
		r.t.Fatalf("terraform plan: %v\n%s", err, out)
	}
	return string(out)
}

// readState returns the state file's bytes and its backup's.
func (r *cliRun) readState() []byte {
	b, _ := os.ReadFile(filepath.Join(r.dir, "terraform.tfstate"))
	return append(b, r.readBackup()...)
}

func (r *cliRun) readBackup() []byte {
	b, _ := os.ReadFile(filepath.Join(r.dir, "terraform.tfstate.backup"))
	return b
}

// cliPath is the CLI the binary-level tests run: the one terraform-plugin-testing
// uses (TF_ACC_TERRAFORM_PATH, set by make test-matrix for OpenTofu), else
// terraform from PATH.
func cliPath() string {
	if p := os.Getenv("TF_ACC_TERRAFORM_PATH"); p != "" {
		return p
	}
	return "terraform"
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestSecretHygiene_EchoedAPIKey: an upstream that echoes the request's API
// key into its error replies (a misconfigured proxy, a debugging registry),
// right at the start and just before the display limit, for several statuses
// and shapes, never gets 8 consecutive characters of the key into
// Terraform's output or its TRACE log.
func TestSecretHygiene_EchoedAPIKey(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the provider binary")
	}
	t.Parallel()
	var shape struct {
		sync.Mutex
		status int
		body   func(echo string) string
	}
	echo := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			shape.Lock()
			status, body := shape.status, shape.body
			shape.Unlock()
			if r.Method != http.MethodPost || r.URL.Path != "/v1/sdk/servers" || body == nil {
				next.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body(r.Header.Get(protocol.HeaderAPIKey))))
		})
	}
	reg := registrytest.Start(t, registrytest.WithMiddleware(echo))
	tf := newCLIRun(t, reg)
	tf.writeConfig(`issue_badge = false`)
	cases := map[string]struct {
		status int
		body   func(pad, key string) string
	}{
		"400 message":       {400, func(p, k string) string { return `{"error":"bad_request","message":"` + p + k + `"}` }},
		"401 message":       {401, func(p, k string) string { return `{"error":"unauthorized","message":"` + p + k + `"}` }},
		"409 error text":    {409, func(p, k string) string { return `{"error":"` + p + k + ` taken"}` }},
		"200 success false": {200, func(p, k string) string { return `{"success":false,"message":"` + p + k + `"}` }},
		"400 plain text":    {400, func(p, k string) string { return p + k }},
	}
	for name, c := range cases {
		for _, pad := range []int{0, 180, 990} {
			shape.Lock()
			shape.status, shape.body = c.status, func(key string) string { return c.body(strings.Repeat("x", pad), key) }
			shape.Unlock()
			tf.runFailing(nil, "apply", "-auto-approve")
			_ = name
		}
	}
	logs, err := os.ReadFile(tf.logPath)
	if err != nil || len(logs) < 10000 {
		t.Fatalf("TRACE log missing or short (%d bytes): %v", len(logs), err)
	}
	out := tf.output.String()
	if !strings.Contains(out, "Unable to Create Server Record") && !strings.Contains(out, "Unconfirmed") {
		t.Fatalf("the applies did not fail at the create:\n%s", out)
	}
	for where, text := range map[string]string{"CLI output": out, "TRACE log": string(logs)} {
		for i := 0; i+8 <= len(reg.APIKey); i++ {
			if w := reg.APIKey[i : i+8]; strings.Contains(text, w) {
				t.Fatalf("the %s holds %q, 8 characters of the API key", where, w)
			}
		}
	}
}
