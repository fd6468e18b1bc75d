package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/identityschema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registry"
)

var (
	_ resource.Resource                 = (*serverIdentityResource)(nil)
	_ resource.ResourceWithConfigure    = (*serverIdentityResource)(nil)
	_ resource.ResourceWithImportState  = (*serverIdentityResource)(nil)
	_ resource.ResourceWithModifyPlan   = (*serverIdentityResource)(nil)
	_ resource.ResourceWithIdentity     = (*serverIdentityResource)(nil)
	_ resource.ResourceWithUpgradeState = (*serverIdentityResource)(nil)
)

// Default operation timeouts; each covers every HTTP attempt and retry of the step.
const (
	defaultCreateTimeout = 5 * time.Minute
	defaultReadTimeout   = 2 * time.Minute
	defaultUpdateTimeout = 5 * time.Minute
	defaultDeleteTimeout = 5 * time.Minute
)

// NewServerIdentityResource returns the capiscio_server_identity resource.
func NewServerIdentityResource() resource.Resource {
	return &serverIdentityResource{}
}

type serverIdentityResource struct {
	data *providerData
}

// serverIdentityIdentityModel is the resource identity: the record's id.
type serverIdentityIdentityModel struct {
	ServerID types.String `tfsdk:"server_id"`
}

func (r *serverIdentityResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_server_identity"
}

func (r *serverIdentityResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = serverIdentitySchema(ctx)
}

// IdentitySchema is the resource identity (Terraform and OpenTofu >= 1.12):
// import { to = ..., identity = { server_id = "..." } }.
func (r *serverIdentityResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = identityschema.Schema{
		Attributes: map[string]identityschema.Attribute{
			"server_id": identityschema.StringAttribute{
				Description:       "The server record's id (a UUID).",
				RequiredForImport: true,
			},
		},
	}
}

func (r *serverIdentityResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	// Always perform a nil check: Configure runs before the provider is configured too.
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

// Create generates a key, registers it and asks for a first badge. Once the
// key is registered the identity is saved whatever the badge call did, so a
// later failure never loses a registered record.
func (r *serverIdentityResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan serverIdentityModel
	resp.Diagnostics.Append(identityCodec().get(ctx, req.Plan.Raw, &plan)...)
	keyConfig, keyDiags := withWriteOnlyKey(ctx, plan, req.Config)
	resp.Diagnostics.Append(keyDiags...)
	ctx, cancel, ok := r.begin(ctx, plan.Timeouts.Create, defaultCreateTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}

	key, diags := resolveKey(ctx, keyConfig)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx = maskKeyMaterial(ctx, key.secret)
	k := r.newKey(key)

	idempotencyKey := uuid.NewString()
	server, managed, diags, regErr := r.register(ctx, plan, key.pub, idempotencyKey)
	resp.Diagnostics.Append(diags...)
	switch {
	case managed && registry.IsOutcomeUnknown(regErr):
		// The record may exist: keep the request in state so the next apply
		// resolves it with the same Idempotency-Key instead of leaving an orphan.
		plan.applyKey(k)
		plan.applyPending(idempotencyKey, r.data.registryURL)
		resp.Diagnostics.Append(setPrivate(ctx, resp.Private, privateState{Managed: true,
			Pending: &pendingCreate{IdempotencyKey: idempotencyKey, Name: plan.Name.ValueString()}})...)
		r.save(ctx, &resp.State, resp.Identity, &plan, &resp.Diagnostics)
		return
	case registry.IsOutcomeUnknown(regErr):
		// The given record may hold the new key now: keep it (tainted, by the
		// error) so its private half is never lost; the next apply registers
		// a newer key on the record and replaces this one.
		plan.applyKey(k)
		plan.applyUnconfirmedKey(r.data.registryURL)
		resp.Diagnostics.Append(setPrivate(ctx, resp.Private, privateState{})...)
		r.save(ctx, &resp.State, resp.Identity, &plan, &resp.Diagnostics)
		return
	}
	if resp.Diagnostics.HasError() {
		return
	}
	r.data.reader.Forget(server.ID)
	plan.applyKey(k)
	plan.applyServer(server, r.data.registryURL)
	plan.applyBadge(nil) // set below when a badge is asked for, issued and verified
	plan.refreshEnv()
	resp.Diagnostics.Append(setPrivate(ctx, resp.Private, privateState{Managed: managed})...)
	if plan.IssueBadge.ValueBool() {
		// A failed badge call is a warning: the registration is real, so the
		// identity is saved whatever the badge call did.
		r.issueFirstBadge(ctx, &plan, &resp.Diagnostics)
	}
	r.save(ctx, &resp.State, resp.Identity, &plan, &resp.Diagnostics)
	tflog.Trace(ctx, "Created server identity", map[string]any{"server_id": plan.ID.ValueString(), "did": plan.DID.ValueString(), "managed_record": managed})
}

// Read refreshes the identity from the registry. A record that is gone leaves
// state; a record whose key changed or that was disabled is flagged so that
// ModifyPlan can say what the plan does about it.
func (r *serverIdentityResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state serverIdentityModel
	resp.Diagnostics.Append(identityCodec().get(ctx, req.State.Raw, &state)...)
	ctx, cancel, ok := r.begin(ctx, state.Timeouts.Read, defaultReadTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	r.data.serials.observe(state.KeySerial.ValueInt64())
	// The framework wants an identity after every read, even one that
	// removes the resource (and Terraform before 1.12 keeps none to start from).
	r.setIdentity(ctx, resp.Identity, state.ID.ValueString(), &resp.Diagnostics)

	priv, diags := getPrivate(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
	if priv.recoverPending(state); priv.Pending != nil {
		// Tainted by an unconfirmed create: the next apply's Delete resolves it.
		tflog.Info(ctx, "Server identity has an unconfirmed create; it is resolved and replaced by the next apply")
		return
	}
	server, gone, diags := r.readRecord(ctx, state)
	resp.Diagnostics.Append(diags...)
	switch {
	case resp.Diagnostics.HasError():
		return // state untouched
	case gone:
		tflog.Info(ctx, "Server record deleted from the registry (proven), removing the identity from state", map[string]any{"server_id": state.ID.ValueString()})
		resp.State.RemoveResource(ctx)
		return
	case server == nil:
		return // another registry that does not serve this record: the plan replaces the identity
	}
	refreshed := state
	drift := refreshed.refreshFrom(server, r.data.registryURL)
	due, _, _ := rotationDue(refreshed, refreshed.RotateAfter, r.data.clock.Now())
	refreshed.ReadyForRotation = types.BoolValue(due)
	// The response starts as the prior state: write only what changed (most
	// refreshes change nothing, and each write converts the whole object).
	if !drift.same(priv.Drift) {
		priv.Drift = drift
		resp.Diagnostics.Append(setPrivate(ctx, resp.Private, priv)...)
	}
	if !refreshed.equal(state) {
		resp.Diagnostics.Append(identityCodec().set(ctx, &resp.State, &refreshed)...)
	}
}

// Update changes what can change in place: the record's name, the badge domain
// (which gets a new badge) and a badge asked for later.
func (r *serverIdentityResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state serverIdentityModel
	resp.Diagnostics.Append(identityCodec().get(ctx, req.Plan.Raw, &plan)...)
	resp.Diagnostics.Append(identityCodec().get(ctx, req.State.Raw, &state)...)
	ctx, cancel, ok := r.begin(ctx, plan.Timeouts.Update, defaultUpdateTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}

	r.data.reader.Forget(state.ID.ValueString())
	// What the plan asks for, read before the computed values are filled in.
	renamed := !plan.Name.IsUnknown() && !plan.Name.Equal(state.Name)
	reregister := !plan.DIDKey.Equal(state.DIDKey) // key drift: the record holds another key
	wantBadge := plan.BadgeJTI.IsUnknown()         // another domain, or issue_badge turned on, or a key registered again
	plan.copyComputedFrom(state)
	due, _, _ := rotationDue(state, plan.RotateAfter, r.data.clock.Now())
	plan.ReadyForRotation = types.BoolValue(due)
	if renamed || reregister {
		server, ok := r.putDeclaredKey(ctx, state, plan.Name, reregister, &resp.Diagnostics)
		if !ok {
			return
		}
		plan.applyServer(server, plan.RegistryURL.ValueString())
		if declared, ok := state.declaredKey(); ok {
			plan.DIDKey, plan.KeyID = types.StringValue(declared.DIDKey), types.StringValue(declared.KeyID)
		}
	}
	plan.refreshEnv()
	if wantBadge {
		r.issueFirstBadge(ctx, &plan, &resp.Diagnostics)
	}
	r.save(ctx, &resp.State, resp.Identity, &plan, &resp.Diagnostics)
}

// Delete deletes a record the provider created, unless it now holds another
// key. A record given by server_id is always left in place.
func (r *serverIdentityResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state serverIdentityModel
	resp.Diagnostics.Append(identityCodec().get(ctx, req.State.Raw, &state)...)
	ctx, cancel, ok := r.begin(ctx, state.Timeouts.Delete, defaultDeleteTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	r.data.serials.observe(state.KeySerial.ValueInt64())

	priv, diags := getPrivate(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
	if priv.recoverPending(state); priv.Pending != nil {
		server, err := r.resolvePending(ctx, state, priv.Pending)
		if err != nil {
			addRegistryError(&resp.Diagnostics, "Unable to Resolve Unconfirmed Server Record",
				"Looking up the server record of an earlier unconfirmed create failed; it stays in state so that a later "+
					"run can resolve it. Run terraform apply again when the registry is reachable.", err)
			return
		}
		state.ID = types.StringValue(server.ID)
	}
	id := state.ID.ValueString()
	if !priv.Managed {
		tflog.Info(ctx, "Leaving server record in place: it was not created by this resource", map[string]any{"server_id": id})
		return
	}
	if r.movedFrom(state) {
		// The record lives at another registry. Forget it here only when the
		// provider's URL is a registry: a mistyped URL must not cost the key.
		if err := r.data.client.ServesRegistry(ctx); err != nil {
			addNotProven(&resp.Diagnostics, id, r.data.registryURL, &registry.NotProvenError{ID: id, Reason: registry.UnprovenWrongBase,
				Detail: fmt.Sprintf("the identity is registered at %s and the provider points at %s, which does not serve a registry's key set",
					state.RegistryURL.ValueString(), r.data.registryURL), Err: err})
			return
		}
		resp.Diagnostics.AddWarning("Server Record Left in Place",
			fmt.Sprintf("Server record %s is registered at %s, but the provider now points at %s, so it was not deleted. "+
				"It is removed from this state only; delete it at %s if it is no longer needed.",
				id, state.RegistryURL.ValueString(), r.data.registryURL, state.RegistryURL.ValueString()))
		return
	}
	// The key check reads through the batched reader: a destroy of N
	// identities then costs N deletes, not N reads as well.
	server, gone, diags := r.readRecord(ctx, state)
	r.data.reader.Forget(id)
	resp.Diagnostics.Append(diags...)
	if gone || resp.Diagnostics.HasError() {
		return // already deleted (proven), or nothing deleted and state kept
	}
	if same, known := holdsKey(server, state.PublicKeyPEM.ValueString()); !same || !known {
		resp.Diagnostics.AddWarning("Server Record Left in Place",
			fmt.Sprintf("Server record %s holds another key than this resource's, or the registry did not say which key it holds "+
				"(a replacement with create_before_destroy, or a rotation made elsewhere), so it was not deleted. It is removed "+
				"from this state only.", id))
		return
	}
	err := r.data.client.DeleteServer(ctx, id)
	if registry.IsNotFound(err) {
		// Deleted in the meantime only when the registry proves it: a 404
		// from a registry without the route is no deletion.
		if err = r.data.client.ProveGone(ctx, id, err); err != nil {
			addNotProven(&resp.Diagnostics, id, r.data.registryURL, err)
			return
		}
	}
	if err != nil {
		addRegistryError(&resp.Diagnostics, "Unable to Delete Server Identity",
			fmt.Sprintf("Deleting server record %s failed. Run terraform destroy again to retry.", id), err)
	}
}

// ImportState brings in the public side of an existing record, by its id
// (terraform import, import blocks with id) or by resource identity
// (import blocks with identity, Terraform and OpenTofu >= 1.12).
func (r *serverIdentityResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	id := req.ID
	if id == "" && req.Identity != nil {
		var ident serverIdentityIdentityModel
		resp.Diagnostics.Append(req.Identity.Get(ctx, &ident)...)
		id = ident.ServerID.ValueString()
	}
	if err := validateServerID(id); err != nil {
		resp.Diagnostics.AddError("Invalid Import ID", "Import capiscio_server_identity by server id: "+err.Error())
		return
	}
	resp.Diagnostics.Append(importSeed(ctx, &resp.State, id)...)
	r.setIdentity(ctx, resp.Identity, id, &resp.Diagnostics)
	resp.Diagnostics.AddWarning("Imported Identity Has No Private Key",
		fmt.Sprintf("Server record %s was imported with its public key only: private_key_pem stays null, "+
			"and destroy will leave the record in place. To have Terraform hold a key for it, set server_id = %q in the "+
			"configuration and rotate with terraform apply -replace=<address>: a new key is generated and registered on the "+
			"same record, and its DID stays.", id, id))
}

// attributeSetter is a state or a listed resource object.
type attributeSetter interface {
	SetAttribute(context.Context, path.Path, any) diag.Diagnostics
}

// importSeed writes what an import knows before Read: the record's id, in id
// and server_id. Every other attribute stays null; Read fills the public side
// from the registry (refreshFrom).
func importSeed(ctx context.Context, target attributeSetter, id string) diag.Diagnostics {
	var diags diag.Diagnostics
	diags.Append(target.SetAttribute(ctx, path.Root("id"), id)...)
	diags.Append(target.SetAttribute(ctx, path.Root("server_id"), id)...)
	return diags
}

// importedState writes into target the state an import of record s
// produces: what ImportState writes, refreshed from s as Read refreshes an
// imported identity. The list resource uses it, so a listed record and an
// imported one are the same object.
func importedState(ctx context.Context, target *tfsdk.Resource, s *protocol.Server, registryURL string) diag.Diagnostics {
	diags := importSeed(ctx, target, s.ID)
	var m serverIdentityModel
	diags.Append(identityCodec().get(ctx, target.Raw, &m)...)
	if diags.HasError() {
		return diags
	}
	m.refreshFrom(s, registryURL)
	diags.Append(identityCodec().set(ctx, target, &m)...)
	return diags
}

// ---- steps ----

func (r *serverIdentityResource) configured(diags *diag.Diagnostics) bool {
	if r.data == nil || r.data.client == nil {
		diags.AddError("Provider Not Configured",
			"The capiscio provider was not configured before this resource was used. This is always a bug in the provider; please report it.")
		return false
	}
	return true
}

// newKey records when a key of this apply was made and gives it its serial.
func (r *serverIdentityResource) newKey(key identityKey) newKey {
	now := r.data.clock.Now()
	return newKey{pub: key.pub, stored: key.stored, created: now, serial: r.data.serials.fresh(now)}
}

// save writes the model to state and its id to the resource identity.
func (r *serverIdentityResource) save(ctx context.Context, state *tfsdk.State, identity *tfsdk.ResourceIdentity, m *serverIdentityModel, diags *diag.Diagnostics) {
	diags.Append(identityCodec().set(ctx, state, m)...)
	r.setIdentity(ctx, identity, m.ID.ValueString(), diags)
}

// setIdentity sets the resource identity. Terraform and OpenTofu before 1.12
// do not store it, but the framework requires it after every create and read.
func (r *serverIdentityResource) setIdentity(ctx context.Context, identity *tfsdk.ResourceIdentity, id string, diags *diag.Diagnostics) {
	if identity == nil || id == "" {
		return
	}
	diags.Append(identity.Set(ctx, serverIdentityIdentityModel{ServerID: types.StringValue(id)})...)
}

// ---- helpers ----

// begin starts a CRUD call whose inputs are read (their errors in diags):
// it checks that the provider is configured, bounds ctx by the operation's
// timeout and masks secrets in every log line the call writes. ok is false
// when the call must stop; cancel is always safe to defer.
func (r *serverIdentityResource) begin(ctx context.Context, timeout func(context.Context, time.Duration) (time.Duration, diag.Diagnostics), def time.Duration, diags *diag.Diagnostics) (context.Context, context.CancelFunc, bool) {
	if diags.HasError() || !r.configured(diags) {
		return ctx, func() {}, false
	}
	d, timeoutDiags := timeout(ctx, def)
	diags.Append(timeoutDiags...)
	if diags.HasError() {
		return ctx, func() {}, false
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	return maskSecrets(ctx, r.data.client), cancel, true
}
