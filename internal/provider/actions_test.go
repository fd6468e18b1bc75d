package provider

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/capiscio/terraform-provider-capiscio/internal/clock"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registry"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver/registrytest"
)

// Unit-level action tests: the action's Invoke called in-process, as the
// framework calls it, against the real local registry. They run under every
// CLI (no CLI is involved) and cover the error paths; actions_cli_test.go
// runs the actions through Terraform itself.

// invoked is what one Invoke produced.
type invoked struct {
	diags    diag.Diagnostics
	progress []string
}

// text is every progress message and diagnostic, for searching.
func (r invoked) text() string {
	var b strings.Builder
	for _, p := range r.progress {
		b.WriteString(p + "\n")
	}
	for _, d := range r.diags {
		b.WriteString(d.Severity().String() + ": " + d.Summary() + ": " + d.Detail() + "\n")
	}
	return b.String()
}

// errorSummaries lists the summaries of the error diagnostics.
func (r invoked) errorSummaries() []string {
	var out []string
	for _, d := range r.diags.Errors() {
		out = append(out, d.Summary())
	}
	return out
}

// invokeAction configures a new action for reg with apiKey and invokes it
// with config (attribute name to value; attributes not named are null).
func invokeAction(t *testing.T, reg *registrytest.Registry, apiKey string, newAction func() action.Action, config map[string]string) invoked {
	t.Helper()
	ctx := context.Background()
	client, err := registry.New(registry.Config{BaseURL: reg.URL, APIKey: apiKey, MaxRetries: 0})
	if err != nil {
		t.Fatal(err)
	}
	data := &providerData{client: client, registryURL: client.BaseURL(), clock: clock.Real{}, serials: &keySerials{},
		reader: registry.NewBatchReader(client)}
	a := newAction()
	var cresp action.ConfigureResponse
	a.(action.ActionWithConfigure).Configure(ctx, action.ConfigureRequest{ProviderData: data}, &cresp)
	var sresp action.SchemaResponse
	a.Schema(ctx, action.SchemaRequest{}, &sresp)
	if cresp.Diagnostics.HasError() || sresp.Diagnostics.HasError() {
		t.Fatalf("configure: %v %v", cresp.Diagnostics, sresp.Diagnostics)
	}
	typ := sresp.Schema.Type().TerraformType(ctx).(tftypes.Object)
	vals := map[string]tftypes.Value{}
	for name := range typ.AttributeTypes {
		var v any // null
		if s, ok := config[name]; ok {
			v = s
		}
		vals[name] = tftypes.NewValue(tftypes.String, v)
	}
	for name := range config {
		if _, ok := typ.AttributeTypes[name]; !ok {
			t.Fatalf("the action has no attribute %q", name)
		}
	}
	var out invoked
	resp := action.InvokeResponse{SendProgress: func(e action.InvokeProgressEvent) { out.progress = append(out.progress, e.Message) }}
	a.Invoke(ctx, action.InvokeRequest{Config: tfsdk.Config{Schema: sresp.Schema, Raw: tftypes.NewValue(typ, vals)}}, &resp)
	out.diags = resp.Diagnostics
	return out
}

// wantInvoked checks that an invocation failed with exactly the error
// summaries wantErrors (none: it succeeded) and said every one of wantText.
func wantInvoked(t *testing.T, got invoked, wantErrors []string, wantText ...string) {
	t.Helper()
	if gotErrs := got.errorSummaries(); strings.Join(gotErrs, "|") != strings.Join(wantErrors, "|") {
		t.Errorf("errors = %q, want %q\n%s", gotErrs, wantErrors, got.text())
	}
	for _, w := range wantText {
		if !strings.Contains(got.text(), w) {
			t.Errorf("the invocation does not say %q:\n%s", w, got.text())
		}
	}
}

// issueBadgeOutOfBand asks the registry for a badge for server id with
// apiKey, as a running MCP server would, and returns it.
func issueBadgeOutOfBand(t *testing.T, reg *registrytest.Registry, apiKey, id string) protocol.Badge {
	t.Helper()
	resp, body := reg.DoWithKey(t, apiKey, http.MethodPost, "/v1/sdk/servers/"+id+"/badge", protocol.BadgeRequest{})
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		t.Fatalf("issuing a badge out of band: HTTP %d %s", resp.StatusCode, body)
	}
	var env protocol.Envelope[protocol.Badge]
	if err := json.Unmarshal(body, &env); err != nil || env.Data.JTI == "" {
		t.Fatalf("decoding the badge reply: %v %s", err, body)
	}
	return env.Data
}

// badgeStatusOf reads a badge's public status document.
func badgeStatusOf(t *testing.T, reg *registrytest.Registry, jti string) protocol.BadgeStatus {
	t.Helper()
	resp, body := reg.DoWithKey(t, "", http.MethodGet, "/v1/servers/badges/"+jti+"/status", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("badge status of %s: HTTP %d %s", jti, resp.StatusCode, body)
	}
	var st protocol.BadgeStatus
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// serverStatusOf reads a server's public status document.
func serverStatusOf(t *testing.T, reg *registrytest.Registry, id string) string {
	t.Helper()
	resp, body := reg.DoWithKey(t, "", http.MethodGet, "/v1/servers/"+id+"/status", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("server status of %s: HTTP %d %s", id, resp.StatusCode, body)
	}
	var st protocol.ServerStatus
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	return st.Status
}

// TestActions_NullArguments: Terraform hands an action a null from a variable
// (default = null) for a required argument; every action refuses it by name
// before calling the registry.
func TestActions_NullArguments(t *testing.T) {
	t.Parallel()
	reg := testRegistry(t)
	for arg, newAction := range map[string]func() action.Action{
		"server_id": NewServerDisableAction,
		"jti":       NewBadgeRevokeAction,
	} {
		got := invokeAction(t, reg, reg.APIKey, newAction, nil)
		wantInvoked(t, got, []string{"Missing Action Argument"}, "The action's "+arg+" is null", "-var "+arg+"=")
		if len(got.progress) != 0 {
			t.Errorf("%s: the action went on after a null argument: %q", arg, got.progress)
		}
	}
	for _, newAction := range []func() action.Action{NewServerEnableAction, NewServerVerifyAction} {
		wantInvoked(t, invokeAction(t, reg, reg.APIKey, newAction, nil), []string{"Missing Action Argument"}, "server_id is null")
	}
}
