package provider

// The registry steps of capiscio_server_identity: registering its key,
// reading its record with proof before believing it gone, and the not-found
// reports they share with the actions.

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registry"
)

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
