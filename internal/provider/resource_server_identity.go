package provider

import (
	"context"
	"errors"
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

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
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
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	keyConfig, keyDiags := withWriteOnlyKey(ctx, plan, req.Config)
	resp.Diagnostics.Append(keyDiags...)
	if resp.Diagnostics.HasError() || !r.configured(&resp.Diagnostics) {
		return
	}
	ctx, cancel, diags := withTimeout(ctx, plan.Timeouts.Create, defaultCreateTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	defer cancel()
	ctx = maskSecrets(ctx, r.data.client)

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
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.configured(&resp.Diagnostics) {
		return
	}
	ctx, cancel, diags := withTimeout(ctx, state.Timeouts.Read, defaultReadTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	defer cancel()
	ctx = maskSecrets(ctx, r.data.client)
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
		resp.Diagnostics.Append(resp.State.Set(ctx, &refreshed)...)
	}
}

// Update changes what can change in place: the record's name, the badge domain
// (which gets a new badge) and a badge asked for later.
func (r *serverIdentityResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state serverIdentityModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.configured(&resp.Diagnostics) {
		return
	}
	ctx, cancel, diags := withTimeout(ctx, plan.Timeouts.Update, defaultUpdateTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	defer cancel()
	ctx = maskSecrets(ctx, r.data.client)

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
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.configured(&resp.Diagnostics) {
		return
	}
	ctx, cancel, diags := withTimeout(ctx, state.Timeouts.Delete, defaultDeleteTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	defer cancel()
	ctx = maskSecrets(ctx, r.data.client)
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
	if err := r.data.client.DeleteServer(ctx, id); err != nil && !registry.IsNotFound(err) {
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
	diags.Append(target.Get(ctx, &m)...)
	if diags.HasError() {
		return diags
	}
	m.refreshFrom(s, registryURL)
	diags.Append(target.Set(ctx, &m)...)
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

// register puts the key on the record given by server_id (PUT), or creates a
// record (POST with an Idempotency-Key). managed reports whether this resource
// created the record and so owns its deletion. The registry error is returned
// beside the diagnostics so that Create can tell an unconfirmed create apart.
func (r *serverIdentityResource) register(ctx context.Context, plan serverIdentityModel, pub keys.Public, idempotencyKey string) (*protocol.Server, bool, diag.Diagnostics, error) {
	var diags diag.Diagnostics
	if id := plan.ServerID.ValueString(); !plan.ServerID.IsUnknown() && id != "" {
		tflog.Debug(ctx, "Registering key on existing server record", map[string]any{"server_id": id, "did_key": pub.DIDKey})
		server, err := r.data.client.RegisterKey(ctx, id, protocol.RegisterKeyRequest{DID: pub.DIDKey, PublicKey: pub.PEM, Name: plan.Name.ValueString()})
		switch {
		case registry.IsNotFound(err):
			addGivenRecordNotFound(ctx, r.data.client, &diags, id, err)
		case registry.IsOutcomeUnknown(err):
			addRegistryError(&diags, "Server Key Registration Unconfirmed",
				fmt.Sprintf("The registry did not confirm the registration of the new key on server record %s, so the record may "+
					"hold it now. The identity is saved as tainted with that key (its private half is not lost): the next "+
					"terraform apply registers a newer key on the record and replaces it.", id), err)
		case err != nil:
			addRegistryError(&diags, "Unable to Register Server Key", fmt.Sprintf("Registering the key on server record %s failed.", id), err)
		}
		return server, false, diags, err
	}
	tflog.Debug(ctx, "Creating server record", map[string]any{"did_key": pub.DIDKey})
	server, err := r.data.client.CreateServer(ctx, protocol.CreateServerRequest{Name: plan.Name.ValueString(), DID: pub.DIDKey, PublicKey: pub.PEM}, idempotencyKey)
	switch {
	case registry.IsOutcomeUnknown(err):
		addRegistryError(&diags, "Server Record Creation Unconfirmed",
			"The registry did not confirm the creation of a server record, so it may or may not exist. The identity is "+
				"saved as tainted with its request: the next terraform apply resolves it with the same Idempotency-Key "+
				"(finding the record if it was created, so none is left behind) and then replaces it.", err)
	case err != nil:
		addRegistryError(&diags, "Unable to Create Server Record", "Creating a server record in the registry failed; nothing was created.", err)
	}
	return server, true, diags, err
}

// readRecord reads the identity's record for Read and Delete. gone is true
// only when the registry proves the record was deleted (registry.ProveGone);
// a 404 it cannot prove is an error that names the likely cause, and state
// stays as it is. A nil server with no error means the provider now points
// at another registry, proven to be one, that does not serve the same record
// with the same DID: the identity stays in state and ModifyPlan plans a new
// one there.
func (r *serverIdentityResource) readRecord(ctx context.Context, state serverIdentityModel) (server *protocol.Server, gone bool, diags diag.Diagnostics) {
	id := state.ID.ValueString()
	moved := r.movedFrom(state)
	server, err := r.data.reader.GetServer(ctx, id)
	switch {
	case err == nil && moved && server.DID != state.DID.ValueString():
		return nil, false, nil // same id, another registry
	case err == nil:
		return server, false, nil
	case registry.IsNotFound(err):
		if perr := r.data.client.ProveGone(ctx, id, err); perr != nil {
			addNotProven(&diags, id, r.data.registryURL, perr)
			return nil, false, diags
		}
		if moved {
			// Absent from another registry: no evidence about the one it
			// lives in.
			tflog.Info(ctx, "The provider's registry does not hold this server record; keeping it in state", map[string]any{"server_id": id})
			return nil, false, nil
		}
		return nil, true, nil
	}
	addRegistryError(&diags, "Unable to Read Server Identity",
		fmt.Sprintf("Reading server record %s from the registry failed; the identity stays in state as it was.", id), err)
	return nil, false, diags
}

// movedFrom reports whether the provider now points at another registry
// address than the one the identity was registered with. (An imported
// identity has none yet: it is read from the provider's.)
func (r *serverIdentityResource) movedFrom(state serverIdentityModel) bool {
	was := state.RegistryURL.ValueString()
	return was != "" && !protocol.SameRegistryURL(was, r.data.registryURL)
}

// putDeclaredKey registers this resource's key on its record again (PUT with
// the same key is idempotent), with the planned name; reregister says whether
// the record held another key, for the error text.
func (r *serverIdentityResource) putDeclaredKey(ctx context.Context, state serverIdentityModel, name types.String, reregister bool, diags *diag.Diagnostics) (*protocol.Server, bool) {
	declared, ok := state.declaredKey()
	if !ok {
		diags.AddError("Unable to Update Server Identity", "The identity's public_key_pem in state is not readable. This is always a bug in the provider; please report it.")
		return nil, false
	}
	id := state.ID.ValueString()
	tflog.Debug(ctx, "Registering the identity's key on its record", map[string]any{"server_id": id, "did_key": declared.DIDKey, "key_drift": reregister})
	server, err := r.data.client.RegisterKey(ctx, id, protocol.RegisterKeyRequest{DID: declared.DIDKey, PublicKey: declared.PEM, Name: name.ValueString()})
	if err != nil {
		what := fmt.Sprintf("Changing the name of server record %s failed; nothing was changed.", id)
		if reregister {
			what = fmt.Sprintf("Registering this identity's key on server record %s again failed; the record still holds the other key.", id)
		}
		addRegistryError(diags, "Unable to Update Server Record", what, err)
		return nil, false
	}
	return server, true
}

// addGivenRecordNotFound reports a 404 for a record given by server_id,
// naming what the registry can tell: another organisation's record, a wrong
// registry URL, or no such record.
func addGivenRecordNotFound(ctx context.Context, c *registry.Client, diags *diag.Diagnostics, id string, notFound error) {
	addRecordNotFound(ctx, c, diags, id, notFound,
		"Create it in the CapiscIO dashboard first, or remove server_id to let the provider create a record.")
}

// addRecordNotFound reports a 404 for a record named by a server_id argument
// (of the resource or an action) the way addGivenRecordNotFound does; advice
// says what to do when no such record exists.
func addRecordNotFound(ctx context.Context, c *registry.Client, diags *diag.Diagnostics, id string, notFound error, advice string) {
	perr := c.ProveGone(ctx, id, notFound)
	np, _ := registry.IsNotProven(perr)
	switch {
	case np != nil && np.Reason == registry.UnprovenOtherOrganisation:
		diags.AddAttributeError(path.Root("server_id"), "Server Record Belongs to Another Organisation",
			fmt.Sprintf("Server record %s exists, but not in the organisation of the provider's API key. Use an API key of the "+
				"record's organisation (api_key or %s).", id, EnvAPIKey))
	case np != nil && np.Reason == registry.UnprovenWrongBase:
		diags.AddAttributeError(path.Root("server_id"), "Server Record Not Found",
			fmt.Sprintf("Server record %s was not found, and the registry URL looks wrong: %s. Check registry_url (or %s).",
				id, np.Detail, EnvRegistryURL))
	default:
		diags.AddAttributeError(path.Root("server_id"), "Server Record Not Found",
			fmt.Sprintf("No server record with id %s exists in the registry. %s", id, advice))
	}
}

// addNotProven reports a 404 that is not proof of deletion. State is kept:
// it is where a generated key lives.
func addNotProven(diags *diag.Diagnostics, id, registryURL string, err error) {
	advice := "Run the command again when the registry is reachable."
	if np, ok := registry.IsNotProven(err); ok {
		switch np.Reason {
		case registry.UnprovenWrongBase:
			advice = fmt.Sprintf("Check the provider's registry_url (or %s): it must be the registry's base URL, such as %s, "+
				"with no path like /v1 at its end.", EnvRegistryURL, protocol.DefaultBaseURL)
		case registry.UnprovenOtherOrganisation:
			advice = fmt.Sprintf("Check the provider's api_key (or %s): it must belong to the organisation that owns the record.", EnvAPIKey)
		}
	}
	diags.AddError("Server Record Not Confirmed Deleted",
		fmt.Sprintf("The registry at %s answered not found for server record %s, but that does not prove the record was "+
			"deleted, so the identity (and any key it holds) stays in state unchanged. %s\n\n%s", registryURL, id, advice, err))
}

// resolvePending finishes a create whose outcome was unknown: the same
// request with the same Idempotency-Key returns the record if the registry
// made it, or makes it now. Either way the caller then owns a known record.
func (r *serverIdentityResource) resolvePending(ctx context.Context, state serverIdentityModel, p *pendingCreate) (*protocol.Server, error) {
	tflog.Debug(ctx, "Resolving an unconfirmed server record creation", map[string]any{"did_key": state.DIDKey.ValueString()})
	return r.data.client.CreateServer(ctx, protocol.CreateServerRequest{
		Name: p.Name, DID: state.DIDKey.ValueString(), PublicKey: state.PublicKeyPEM.ValueString(),
	}, p.IdempotencyKey)
}

// issueFirstBadge asks for a badge, verifies it, and records its facts; a
// failure is a warning, never an error, because the identity exists already.
func (r *serverIdentityResource) issueFirstBadge(ctx context.Context, m *serverIdentityModel, diags *diag.Diagnostics) {
	id := m.ID.ValueString()
	m.applyBadge(nil)
	badge, err := r.data.client.IssueBadge(ctx, id, protocol.BadgeRequest{Domain: m.effectiveDomain()})
	if errors.Is(err, registry.ErrForbidden) {
		diags.AddWarning("Badge Not Issued",
			fmt.Sprintf("The identity of server record %s is registered and saved, but the registry refused a badge: %s. A "+
				"disabled record gets no badges, neither here nor in the MCP server's runtime, until it is enabled again "+
				"(CapiscIO dashboard, or POST /v1/sdk/servers/%s/enable).", id, err, id))
		return
	}
	if err != nil {
		diags.AddWarning("Badge Not Issued",
			fmt.Sprintf("The identity of server record %s is registered and saved, but the registry did not issue a first badge: %s. "+
				"The runtime SDK requests its own badges when it starts, so the MCP server still works; the badge attributes stay "+
				"null until the next change of this resource. Set issue_badge = false to stop asking.", id, err))
		return
	}
	ctx = maskBadge(ctx, badge.Badge)
	declared, _ := m.declaredKey()
	verified, err := r.data.client.VerifyBadge(ctx, badge.Badge, registry.BadgeWant{DID: m.DID.ValueString(), Key: declared.Key})
	if err != nil {
		diags.AddWarning("Badge Not Recorded",
			fmt.Sprintf("The identity of server record %s is registered and saved, but the first badge the registry sent was not "+
				"recorded: %s. A badge that does not verify against the registry's published keys, or names another server or "+
				"key, must not be trusted; report it to the registry's operator. The runtime SDK requests its own badges.", id, err))
		return
	}
	tflog.Debug(ctx, "Issued and verified first badge", map[string]any{"server_id": id, "badge_jti": verified.JTI, "signing_key": verified.KeyID})
	m.applyBadge(verified)
}

// save writes the model to state and its id to the resource identity.
func (r *serverIdentityResource) save(ctx context.Context, state *tfsdk.State, identity *tfsdk.ResourceIdentity, m *serverIdentityModel, diags *diag.Diagnostics) {
	diags.Append(state.Set(ctx, m)...)
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

func withTimeout(ctx context.Context, get func(context.Context, time.Duration) (time.Duration, diag.Diagnostics), def time.Duration) (context.Context, context.CancelFunc, diag.Diagnostics) {
	d, diags := get(ctx, def)
	if diags.HasError() {
		return ctx, func() {}, diags
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	return ctx, cancel, diags
}
