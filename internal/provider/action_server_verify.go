package provider

import (
	"context"
	"crypto/ed25519"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/actionvalidator"
	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/action/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registry"
)

var (
	_ action.Action                     = (*serverVerifyAction)(nil)
	_ action.ActionWithConfigure        = (*serverVerifyAction)(nil)
	_ action.ActionWithConfigValidators = (*serverVerifyAction)(nil)
	_ action.ActionWithModifyPlan       = (*serverVerifyAction)(nil)
)

// NewServerVerifyAction returns the capiscio_server_verify action.
func NewServerVerifyAction() action.Action {
	return &serverVerifyAction{}
}

// serverVerifyAction checks, the way a relying party would, that a server
// identity works: the record is active, its DID document serves its key (the
// expected one when given), and a fresh badge verifies against them.
type serverVerifyAction struct {
	data *providerData
}

type serverVerifyActionModel struct {
	ServerID     types.String `tfsdk:"server_id"`
	PublicKeyPEM types.String `tfsdk:"public_key_pem"`
	DIDKey       types.String `tfsdk:"did_key"`
	Domain       types.String `tfsdk:"domain"`
}

func (a *serverVerifyAction) Metadata(_ context.Context, req action.MetadataRequest, resp *action.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_server_verify"
}

func (a *serverVerifyAction) Schema(_ context.Context, _ action.SchemaRequest, resp *action.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Checks that an MCP server's identity works, as a relying party would see it, and **fails** " +
			"(an error) when it does not:\n\n" +
			"1. the server record is `active` (not disabled);\n" +
			"2. when `public_key_pem` or `did_key` is given, the record holds that key;\n" +
			"3. the server's `did:web` document serves the record's DID and key;\n" +
			"4. a fresh badge from the registry verifies against the registry's published keys, names the server's DID as " +
			"`sub` and its key as `key`.\n\n" +
			"Every check that fails is reported, each as its own error; when all pass, a progress message sums up what was " +
			"checked. Use it after a deployment, in `lifecycle { action_trigger { events = [after_create, after_update] } }` " +
			"of the resource that deploys the MCP server (with `on_failure = continue` a failed check is a warning), or in a " +
			"pipeline with `terraform apply -invoke=action.capiscio_server_verify.NAME`.\n\n" +
			"What it does not do: it changes no Terraform state and repairs nothing. Each run asks the registry for one " +
			"short-lived badge (as `capiscio_server_badge` does); the badge is never printed, logged or stored, and expires " +
			"by itself. Without `public_key_pem` or `did_key` it proves that the registry is consistent, not that the record " +
			"holds *your* key: give the key the server was deployed with. Requires Terraform >= 1.14 (OpenTofu has no " +
			"actions yet).",
		Attributes: map[string]schema.Attribute{
			"server_id": schema.StringAttribute{
				MarkdownDescription: "UUID of the server record to check, such as `capiscio_server_identity.NAME.id`.",
				Required:            true,
				Validators:          []validator.String{uuidValidator()},
			},
			"public_key_pem": schema.StringAttribute{
				MarkdownDescription: "The key the record must hold: the SPKI PEM of the Ed25519 public key the server was " +
					"deployed with, such as `capiscio_server_identity.NAME.public_key_pem` (the identity's own key, which stays " +
					"what Terraform registered even when another key was registered out of band). Conflicts with `did_key`.",
				Optional:   true,
				Validators: []validator.String{publicKeyPEMValidator()},
			},
			"did_key": schema.StringAttribute{
				MarkdownDescription: "The key the record must hold, as a `did:key` (`did:key:z6Mk...`), such as the one an " +
					"MCP server prints or `provider::capiscio::did_key(PEM)`. Not `capiscio_server_identity.NAME.did_key`: that " +
					"attribute follows the registry on refresh, so it would name an out-of-band key too. Conflicts with " +
					"`public_key_pem`.",
				Optional:   true,
				Validators: []validator.String{didKeyValidator()},
			},
			"domain": schema.StringAttribute{
				MarkdownDescription: "Domain to ask the fresh badge for. Unset: the registry uses the record's domain, as for " +
					"the runtime SDK's renewals. A domain given here is remembered by the registry as the record's domain, as " +
					"with every badge request, so give the identity's own `domain` if you set one.",
				Optional:   true,
				Validators: []validator.String{notBlankValidator(), domainValidator()},
			},
		},
	}
}

func (a *serverVerifyAction) ConfigValidators(_ context.Context) []action.ConfigValidator {
	return []action.ConfigValidator{
		actionvalidator.Conflicting(path.MatchRoot("public_key_pem"), path.MatchRoot("did_key")),
	}
}

func (a *serverVerifyAction) Configure(_ context.Context, req action.ConfigureRequest, resp *action.ConfigureResponse) {
	a.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (a *serverVerifyAction) ModifyPlan(ctx context.Context, req action.ModifyPlanRequest, resp *action.ModifyPlanResponse) {
	requireArguments(ctx, req.Config, &resp.Diagnostics, "server_id")
}

// Invoke runs the checks in order. Every failed check adds its own error; the
// badge is asked for only when the record is active and its key known, since
// the registry refuses a disabled record badges anyway.
func (a *serverVerifyAction) Invoke(ctx context.Context, req action.InvokeRequest, resp *action.InvokeResponse) {
	var m serverVerifyActionModel
	requireArguments(ctx, req.Config, &resp.Diagnostics, "server_id")
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || !actionConfigured(a.data, providerTypeName+"_server_verify", &resp.Diagnostics) {
		return
	}
	ctx = maskSecrets(ctx, a.data.client)
	id := m.ServerID.ValueString()
	ctx = tflog.SetField(ctx, "server_id", id)

	record, ok := readActionRecord(ctx, a.data, id, "Nothing was verified.", &resp.Diagnostics)
	if !ok {
		return
	}
	progress(ctx, resp, "Verifying server record %s", describeRecord(record))
	active := a.checkActive(record, &resp.Diagnostics)
	registered, known := registeredPublic(record)
	if !known {
		resp.Diagnostics.AddError("Server Record Key Unknown",
			fmt.Sprintf("The registry's reply for server record %s does not say which key it holds, so nothing can be "+
				"verified against it. Report it to the registry's operator.", id))
		return
	}
	if a.checkExpectedKey(m, record, registered, &resp.Diagnostics) {
		progress(ctx, resp, "The record holds the key %s (key_id %s)%s", registered.DIDKey, registered.KeyID, expectedNote(m))
	}
	if where, ok := a.checkPublishedKey(ctx, record, registered, &resp.Diagnostics); ok {
		progress(ctx, resp, "The DID document at %s serves the record's DID and key", where)
	}
	if !active || resp.Diagnostics.HasError() {
		return
	}
	badge, ok := a.checkFreshBadge(ctx, m, record, registered, &resp.Diagnostics)
	if !ok {
		return
	}
	progress(ctx, resp, "A fresh badge (jti %s, trust level %s, valid until %s) verifies: signed by the registry's key %q, "+
		"issued to that DID for that key", badge.JTI, orNone(badge.TrustLevel), formatActionTime(&badge.ExpiresAt), badge.KeyID)
	progress(ctx, resp, "Server record %s verified: active, key, DID document and badge all check out", id)
}

// checkActive fails a record that is not active.
func (a *serverVerifyAction) checkActive(record *protocol.Server, diags *diag.Diagnostics) bool {
	if record.Status == protocol.StatusActive {
		return true
	}
	detail := fmt.Sprintf("Server record %s has status %q, not %q", record.ID, record.Status, protocol.StatusActive)
	if record.Status == protocol.StatusDisabled {
		detail += fmt.Sprintf(" (disabled since %s)", formatActionTime(record.DisabledAt))
	}
	diags.AddError("Server Record Not Active", detail+": the registry issues it no badges, and verifiers that check its "+
		"status reject it. If it was disabled on purpose (an incident), that is the expected answer; once the incident is "+
		"over, enable it with the capiscio_server_enable action.")
	return false
}

// checkExpectedKey fails a record that holds another key than the one given.
func (a *serverVerifyAction) checkExpectedKey(m serverVerifyActionModel, record *protocol.Server, registered keys.Public, diags *diag.Diagnostics) bool {
	want, attr, given := expectedKey(m)
	if !given || registered.Key.Equal(want) {
		return true
	}
	diags.AddAttributeError(path.Root(attr), "Server Record Holds Another Key",
		fmt.Sprintf("Server record %s holds the key %s (registered at %s), not the expected %s. Another key was registered "+
			"on the record: a runtime that lost its key and generated a new one, or someone with the organisation's API key. "+
			"Badges now name that key, so a server holding the expected key cannot prove its identity. If the other key is "+
			"not yours, terraform apply of the capiscio_server_identity that declares the expected key registers it again "+
			"(the registry then revokes the other key's badges); to stop all badges at once, disable the record with "+
			"capiscio_server_disable.",
			record.ID, registered.DIDKey, formatActionTime(&record.KeyUpdatedAt), keys.DIDKey(want)))
	return false
}

// checkPublishedKey reads the server's DID document from the public route and
// fails when it does not serve the record's DID and key. It returns the
// document's address for the messages.
func (a *serverVerifyAction) checkPublishedKey(ctx context.Context, record *protocol.Server, registered keys.Public, diags *diag.Diagnostics) (string, bool) {
	where := fmt.Sprintf("%s/servers/%s/did.json", a.data.client.BaseURL(), record.ID)
	published, err := a.data.client.PublishedKey(ctx, record.ID)
	switch {
	case err == nil && published.DID == record.DID && registered.Key.Equal(published.Key):
		return where, true
	case err != nil:
		addRegistryError(diags, "Unable to Read DID Document", fmt.Sprintf("Reading the DID document of server record %s "+
			"at %s failed: verifiers resolving its did:web cannot either.", record.ID, where), err)
	case published.DID != record.DID:
		diags.AddError("DID Document Names Another DID", fmt.Sprintf("The DID document at %s has id %s, but server record %s "+
			"has DID %s: verifiers resolving the DID get a document for another one. Report it to the registry's operator.",
			where, published.DID, record.ID, record.DID))
	case !registered.Key.Equal(published.Key):
		diags.AddError("DID Document Does Not Serve the Registered Key", fmt.Sprintf("The DID document at %s publishes the "+
			"key %s (%s), but server record %s holds %s: verifiers resolving %s would reject the server's signatures. If a "+
			"key was registered a moment ago, the document may lag behind; run the action again, and report it to the "+
			"registry's operator if it persists.", where, keys.DIDKey(published.Key), published.MethodID, record.ID,
			registered.DIDKey, record.DID))
	}
	return where, false
}

// checkFreshBadge asks for a badge and verifies it. The token never leaves
// this function and is masked in every log line of the request.
func (a *serverVerifyAction) checkFreshBadge(ctx context.Context, m serverVerifyActionModel, record *protocol.Server, registered keys.Public, diags *diag.Diagnostics) (*registry.VerifiedBadge, bool) {
	badge, err := a.data.client.IssueBadge(ctx, record.ID, protocol.BadgeRequest{Domain: m.Domain.ValueString()})
	if err != nil {
		addRegistryError(diags, "Unable to Issue Badge", fmt.Sprintf("Asking the registry for a badge for server record %s "+
			"failed, so the MCP server cannot get one either.", record.ID), err)
		return nil, false
	}
	ctx = maskBadge(ctx, badge.Badge)
	verified, err := a.data.client.VerifyBadge(ctx, badge.Badge, registry.BadgeWant{DID: record.DID, Key: registered.Key})
	if err != nil {
		diags.AddError("Fresh Badge Did Not Verify",
			fmt.Sprintf("The registry issued a badge for server record %s, but %s. Relying parties verifying the server's "+
				"badges would reject them too. Report it to the registry's operator.", record.ID, err))
		return nil, false
	}
	tflog.Debug(ctx, "Fresh badge verified", map[string]any{"badge_jti": verified.JTI, "signing_key": verified.KeyID})
	return verified, true
}

// expectedKey returns the key the configuration expects, and the attribute
// that gave it. The validators have checked the values.
func expectedKey(m serverVerifyActionModel) (key ed25519.PublicKey, attr string, given bool) {
	if !m.PublicKeyPEM.IsNull() {
		k, err := keys.ParsePublicPEM(m.PublicKeyPEM.ValueString())
		return k, "public_key_pem", err == nil
	}
	if !m.DIDKey.IsNull() {
		k, err := keys.ParseDIDKey(m.DIDKey.ValueString())
		return k, "did_key", err == nil
	}
	return nil, "", false
}

// expectedNote tells the summary whether the key was compared with an
// expected one.
func expectedNote(m serverVerifyActionModel) string {
	if _, attr, given := expectedKey(m); given {
		return ", the key " + attr + " expects"
	}
	return "; no public_key_pem or did_key given, so it was not compared with the key the server was deployed with"
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// didKeyValidator checks a did:key with the precise errors of internal/keys.
func didKeyValidator() validator.String {
	return stringCheck{
		summary:     "Invalid did:key",
		description: "value must be the did:key of an Ed25519 public key (did:key:z6Mk...)",
		check: func(s string) error {
			_, err := keys.ParseDIDKey(s)
			return err
		},
	}
}
