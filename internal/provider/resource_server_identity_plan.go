package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/capiscio/terraform-provider-capiscio/internal/duration"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registry"
)

// Planning: what ModifyPlan adds to the framework's plan. Read cannot ask for
// a change or explain one, so it records in state what the registry holds
// (did_key, key_id, status) and in private state when it happened
// (driftInfo); ModifyPlan turns that into a plan and a warning.
//
// What each kind of drift does:
//
//	record deleted (proven)     Read removes the identity; the plan creates a new one
//	another key registered      in-place update: this resource's key is registered again
//	record disabled             nothing: a warning with the two ways forward
//	registry_url respelled      nothing (URLs are compared canonical)
//	registry_url alias          nothing, once a refresh finds the same record and key there
//	another registry            replacement: a new identity there; the old record is left

// ModifyPlan fills values known at plan time (registry_url, id and did from
// server_id) and plans what drift found by Read calls for.
func (r *serverIdentityResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return // destroy, or the provider is not configured yet (validate)
	}
	var plan serverIdentityModel
	var configDomain types.String
	resp.Diagnostics.Append(identityCodec().get(ctx, req.Plan.Raw, &plan)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("domain"), &configDomain)...)
	if resp.Diagnostics.HasError() {
		return
	}
	planned := plan
	plan.RegistryURL = types.StringValue(r.data.registryURL)
	if req.State.Raw.IsNull() {
		r.planCreate(ctx, req, &plan, configDomain, &resp.Diagnostics)
		resp.Diagnostics.Append(identityCodec().set(ctx, &resp.Plan, &plan)...)
		return
	}
	var state serverIdentityModel
	resp.Diagnostics.Append(identityCodec().get(ctx, req.State.Raw, &state)...)
	priv, diags := getPrivate(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	plan.Domain = planDomain(configDomain, state, r.data.registryURL)
	r.planRegistryURL(state, &plan, &resp.RequiresReplace, &resp.Diagnostics)
	if state.Status.ValueString() == protocol.StatusDisabled {
		// A disabled record is never replaced on Terraform's own initiative,
		// not even by rotate_after: the operator's decision stands.
		plan.ReadyForRotation, _, _ = rotationDueValue(state, plan.RotateAfter, r.data.clock.Now())
	} else {
		r.planRotation(state, &plan, &resp.RequiresReplace, &resp.Diagnostics)
	}
	// What follows plans an in-place update. When the plan replaces the
	// identity instead (here or through an argument's plan modifier, which
	// this method does not see), Terraform plans the new object in a second
	// call without prior state, and these values are not used.
	planKeyDrift(state, &plan, priv.Drift, &resp.Diagnostics)
	warnDisabled(state, priv.Drift, &resp.Diagnostics)
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
		resp.Diagnostics.Append(identityCodec().set(ctx, &resp.Plan, &plan)...)
	}
}

// planCreate fills the plan of a new identity with what is known before
// apply. On a record given by server_id the DID is the record's and stays
// through every rotation, so it is read from the registry and known in the
// plan (a -replace shows the DID unchanged); a record that does not exist is
// reported now, on server_id, rather than at apply.
func (r *serverIdentityResource) planCreate(ctx context.Context, req resource.ModifyPlanRequest, plan *serverIdentityModel, configDomain types.String, diags *diag.Diagnostics) {
	if !plan.ServerID.IsUnknown() && !plan.ServerID.IsNull() {
		plan.ID = plan.ServerID
		r.planGivenRecord(ctx, plan, diags)
	}
	if configDomain.IsNull() {
		plan.Domain = types.StringNull()
	}
	plan.ReadyForRotation = types.BoolValue(false)
	keyConfig, d := withWriteOnlyKey(ctx, *plan, req.Config)
	diags.Append(d...)
	plan.planNewKey(keyConfig)
}

// planGivenRecord reads the record a new identity registers its key on. Only
// a proven absence is an error; any other failure leaves the DID unknown and
// the apply reports what it meets.
func (r *serverIdentityResource) planGivenRecord(ctx context.Context, plan *serverIdentityModel, diags *diag.Diagnostics) {
	ctx = maskSecrets(ctx, r.data.client)
	id := plan.ServerID.ValueString()
	server, err := r.data.reader.GetServer(ctx, id)
	switch {
	case err == nil:
		plan.DID = types.StringValue(server.DID)
	case registry.IsNotFound(err):
		addGivenRecordNotFound(ctx, r.data.client, diags, id, err)
	default:
		tflog.Debug(ctx, "Reading the given server record at plan time failed; its DID is known after apply", map[string]any{"server_id": id, "error": err.Error()})
	}
}

// planRegistryURL keeps the registry_url of state when the provider names
// the same address in another spelling, and plans a replacement when it
// names another registry. (An alias, such as localhost for 127.0.0.1, was
// already followed by Read when the record there is the same.)
func (r *serverIdentityResource) planRegistryURL(state serverIdentityModel, plan *serverIdentityModel, requiresReplace *path.Paths, diags *diag.Diagnostics) {
	if !r.movedFrom(state) {
		if !state.RegistryURL.IsNull() {
			plan.RegistryURL = state.RegistryURL
		}
		return
	}
	diags.AddWarning("Server Identity Moves to Another Registry",
		fmt.Sprintf("Server record %s is registered at %s, and the provider now points at %s, which does not serve that record "+
			"with this identity's key. This plan creates a new identity there. The record at %s is left in place: delete it "+
			"there if it is no longer needed. If both URLs reach the same registry, check that the record still exists there "+
			"and run terraform plan again.", state.ID.ValueString(), state.RegistryURL.ValueString(), r.data.registryURL,
			state.RegistryURL.ValueString()))
	requiresReplace.Append(path.Root("registry_url"))
	plan.markKeyUnknown()
}

// planKeyDrift plans the registration of this resource's key again when the
// record holds another one: did_key and key_id go back to public_key_pem's.
func planKeyDrift(state serverIdentityModel, plan *serverIdentityModel, drift *driftInfo, diags *diag.Diagnostics) {
	declared, ok := state.declaredKey()
	if !ok || state.DIDKey.ValueString() == declared.DIDKey {
		return
	}
	plan.DIDKey, plan.KeyID = types.StringValue(declared.DIDKey), types.StringValue(declared.KeyID)
	if plan.IssueBadge.ValueBool() {
		plan.BadgeJTI, plan.BadgeExpiresAt = types.StringUnknown(), types.StringUnknown()
	}
	when := "at a time the registry did not say"
	if drift != nil && drift.KeyChangedAt != "" {
		when = "at " + drift.KeyChangedAt
	}
	diags.AddWarning("Server Key Will Be Registered Again",
		fmt.Sprintf("Server record %s now holds another key (%s, registered %s) than this identity's (%s): someone, or a runtime that "+
			"lost its key and made a new one, registered it outside Terraform. This apply registers this identity's key on the same "+
			"record again: the record and its DID %s stay, and the registry revokes the badges of the other key, so servers that "+
			"use that key lose their badges until they get this identity's key. To keep the other key instead, make it this "+
			"identity's: remove the identity from state (terraform state rm <address>), set server_id = %q in its configuration "+
			"(and external_public_key_pem to the other key when it is external; remove private_key_wo and private_key_wo_version), "+
			"then import the record.",
			state.ID.ValueString(), state.DIDKey.ValueString(), when, declared.DIDKey, state.DID.ValueString(), state.ID.ValueString()))
}

// warnDisabled explains a disabled record. Terraform neither replaces nor
// re-enables it: an operator disabled it, and that stands until they say.
func warnDisabled(state serverIdentityModel, drift *driftInfo, diags *diag.Diagnostics) {
	if state.Status.ValueString() != protocol.StatusDisabled {
		return
	}
	when := ""
	if drift != nil && drift.DisabledAt != "" {
		when = " at " + drift.DisabledAt
	}
	diags.AddWarning("Server Record Disabled",
		fmt.Sprintf("Server record %s (%s) was disabled in the registry%s, so it gets no badges and verifiers reject it. "+
			"Terraform does not replace it or enable it again on its own (not even when rotate_after is due): an operator "+
			"disabled it. Two ways forward: enable the record again in the CapiscIO dashboard (or POST "+
			"/v1/sdk/servers/%s/enable) and refresh; or rotate with terraform apply -replace=<address>, which gives a record "+
			"this provider created a new record and DID, and a record given by server_id a new key (it stays disabled until "+
			"enabled).",
			state.ID.ValueString(), state.DID.ValueString(), when, state.ID.ValueString()))
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
	if state.Domain.ValueString() == protocol.DefaultDomain(registryURL) {
		return state.Domain
	}
	return types.StringNull()
}

// rotationDueValue is rotationDue as the ready_for_rotation value.
func rotationDueValue(state serverIdentityModel, rotateAfter types.String, now time.Time) (types.Bool, time.Duration, time.Duration) {
	due, age, limit := rotationDue(state, rotateAfter, now)
	return types.BoolValue(due), age, limit
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
