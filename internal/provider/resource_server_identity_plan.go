package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/capiscio/terraform-provider-capiscio/internal/duration"
	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/registry"
)

// Planning: what ModifyPlan adds to the framework's plan. Read cannot ask for
// a replacement or explain a change, so it records what it found in private
// state (driftInfo) and ModifyPlan turns that into a plan and a warning.

// Drift kinds recorded by Read.
const (
	driftKeyChanged = "key_changed"
	driftDisabled   = "disabled"
)

// same reports whether two drift records are the same (both may be nil).
func (d *driftInfo) same(o *driftInfo) bool {
	if d == nil || o == nil {
		return d == o
	}
	return *d == *o
}

// refreshFrom updates state from the registry's record in Read and returns
// the drift the next plan must act on (nil when none).
func (m *serverIdentityModel) refreshFrom(s *registry.Server, registryURL string) *driftInfo {
	var drift *driftInfo
	if m.PublicKeyPEM.IsNull() {
		// Imported: adopt the registered key as this resource's key.
		if pub, err := keys.ParsePublicPEM(s.PublicKey); err == nil {
			if desc, err := keys.DescribePublic(pub); err == nil {
				t := keyTimeOf(s)
				m.applyKey(newKey{pub: desc, created: t, serial: t.UnixMicro()})
			}
		}
	} else if !sameKey(s, m.PublicKeyPEM.ValueString()) {
		drift = &driftInfo{Kind: driftKeyChanged, Since: formatTime(s.KeyUpdatedAt)}
	}
	if drift == nil && s.Status == registry.StatusDisabled {
		drift = &driftInfo{Kind: driftDisabled}
	}
	if m.RegistryURL.IsNull() {
		m.RegistryURL = types.StringValue(registryURL)
	}
	m.applyServer(s, m.RegistryURL.ValueString())
	if m.ReadyForRotation.IsNull() {
		m.ReadyForRotation = types.BoolValue(false)
	}
	m.refreshEnv()
	return drift
}

// ModifyPlan fills values known at plan time (registry_url, the derived
// domain, id from server_id) and turns drift found by Read into a plan with
// a reason, since Read itself cannot ask for one.
func (r *serverIdentityResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return // destroy, or the provider is not configured yet (validate)
	}
	var plan serverIdentityModel
	var configDomain types.String
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("domain"), &configDomain)...)
	if resp.Diagnostics.HasError() {
		return
	}
	planned := plan
	plan.RegistryURL = types.StringValue(r.data.registryURL)
	if req.State.Raw.IsNull() {
		r.planCreate(ctx, req, &plan, configDomain, &resp.Diagnostics)
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
		return
	}
	var state serverIdentityModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	priv, diags := getPrivate(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	plan.Domain = planDomain(configDomain, state, r.data.registryURL)
	if !state.RegistryURL.IsNull() && !state.RegistryURL.Equal(plan.RegistryURL) {
		resp.RequiresReplace.Append(path.Root("registry_url"))
		plan.markKeyUnknown()
	}
	if reason := driftReason(priv.Drift, state.ID.ValueString()); reason != "" {
		resp.Diagnostics.AddWarning("Server Identity Will Be Replaced", reason)
		resp.RequiresReplace.Append(path.Root("public_key_pem"))
		plan.markKeyUnknown()
	}
	r.planRotation(state, &plan, &resp.RequiresReplace, &resp.Diagnostics)
	// What follows plans an in-place update. When the plan replaces the
	// identity instead (here or through an argument's plan modifier, which
	// this method does not see), Terraform plans the new object in a second
	// call without prior state, and these values are not used.
	if plan.Status.IsUnknown() {
		// Only a refresh learns the status. UseStateForUnknown keeps it, but
		// not a null one (a state upgraded from version 0 before its first
		// refresh): that must not plan a change either.
		plan.Status = state.Status
	}
	if plan.IssueBadge.ValueBool() && (plan.effectiveDomain() != state.effectiveDomain() || !state.IssueBadge.ValueBool()) {
		// A badge for the new domain, or the first badge of an identity that
		// asked for none until now.
		plan.BadgeJTI, plan.BadgeExpiresAt = types.StringUnknown(), types.StringUnknown()
	}
	if !plan.Env.IsUnknown() {
		plan.refreshEnv()
	}
	// Most plans of an existing identity change nothing here: then the
	// framework's plan stands, without converting the whole object again.
	if !plan.equal(planned) {
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
	}
}

// planCreate fills the plan of a new identity with what is known before
// apply.
func (r *serverIdentityResource) planCreate(ctx context.Context, req resource.ModifyPlanRequest, plan *serverIdentityModel, configDomain types.String, diags *diag.Diagnostics) {
	if !plan.ServerID.IsUnknown() && !plan.ServerID.IsNull() {
		plan.ID = plan.ServerID
	}
	if configDomain.IsNull() {
		plan.Domain = types.StringNull()
	}
	plan.ReadyForRotation = types.BoolValue(false)
	keyConfig, d := withWriteOnlyKey(ctx, *plan, req.Config)
	diags.Append(d...)
	plan.planNewKey(keyConfig)
}

// planDomain plans domain for an existing identity. Unset means the default
// the runtime SDK derives from the registry URL, and state keeps unset as
// null (fewer bytes per identity). A state that holds the default itself
// (version 0 stored it) keeps it: the two mean the same domain, so neither
// is a change.
func planDomain(config types.String, state serverIdentityModel, registryURL string) types.String {
	if !config.IsNull() {
		return config
	}
	if state.Domain.ValueString() == registry.DefaultDomain(registryURL) {
		return state.Domain
	}
	return types.StringNull()
}

func driftReason(d *driftInfo, id string) string {
	if d == nil {
		return ""
	}
	switch d.Kind {
	case driftKeyChanged:
		return "Server record " + id + " now holds another key than the one in Terraform state (it was rotated outside Terraform). " +
			"This apply generates and registers a new key so that state and registry agree again."
	case driftDisabled:
		return "Server record " + id + " is disabled in the registry, so it cannot get badges. This apply replaces the identity " +
			"with a new key. To keep the current key instead, enable the record in the CapiscIO dashboard and refresh."
	default:
		return ""
	}
}

// rotationDue reports whether the key in state is older than rotate_after.
func rotationDue(state serverIdentityModel, rotateAfter types.String, now time.Time) (due bool, age, limit time.Duration) {
	if rotateAfter.IsNull() || rotateAfter.IsUnknown() || state.KeyCreatedAt.IsNull() || state.KeyCreatedAt.IsUnknown() {
		return false, 0, 0
	}
	limit, err := duration.Parse(rotateAfter.ValueString())
	if err != nil {
		return false, 0, 0
	}
	created, err := time.Parse(time.RFC3339, state.KeyCreatedAt.ValueString())
	if err != nil {
		return false, 0, 0
	}
	age = now.Sub(created)
	return age >= limit, age, limit
}

// planRotation turns an elapsed rotate_after into a planned replacement with a
// reason, as hashicorp/tls does for certificate early renewal: Terraform then
// shows "must be replaced", and replace_triggered_by on dependants fires.
func (r *serverIdentityResource) planRotation(state serverIdentityModel, plan *serverIdentityModel, requiresReplace *path.Paths, diags *diag.Diagnostics) {
	due, age, limit := rotationDue(state, plan.RotateAfter, r.data.clock.Now())
	if !due {
		plan.ReadyForRotation = types.BoolValue(false)
		return
	}
	diags.AddWarning("Key Rotation Due",
		fmt.Sprintf("The key of server identity %s was created at %s, %s ago, which is past rotate_after = %q (%s). "+
			"This plan replaces the identity with a new key; the registry revokes the old key's badges when it is replaced.",
			state.ID.ValueString(), state.KeyCreatedAt.ValueString(), age.Round(time.Second), plan.RotateAfter.ValueString(), limit))
	requiresReplace.Append(path.Root("ready_for_rotation"))
	plan.ReadyForRotation = types.BoolUnknown()
	plan.markKeyUnknown()
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
