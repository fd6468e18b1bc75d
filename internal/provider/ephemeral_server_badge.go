package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registry"
)

var (
	_ ephemeral.EphemeralResource              = (*serverBadgeEphemeralResource)(nil)
	_ ephemeral.EphemeralResourceWithConfigure = (*serverBadgeEphemeralResource)(nil)
	_ ephemeral.EphemeralResourceWithRenew     = (*serverBadgeEphemeralResource)(nil)
)

// badgeRenewMargin is how long before a badge expires Terraform is asked to
// call Renew, the runtime SDK's own renewal threshold.
const badgeRenewMargin = 30 * time.Second

// NewServerBadgeEphemeralResource returns the capiscio_server_badge ephemeral resource.
func NewServerBadgeEphemeralResource() ephemeral.EphemeralResource {
	return &serverBadgeEphemeralResource{}
}

// serverBadgeEphemeralResource asks the registry for a fresh trust badge for
// the run that needs one. The token never reaches plan or state.
type serverBadgeEphemeralResource struct {
	data *providerData
}

type serverBadgeModel struct {
	ServerID   types.String `tfsdk:"server_id"`
	Domain     types.String `tfsdk:"domain"`
	Badge      types.String `tfsdk:"badge"`
	JTI        types.String `tfsdk:"jti"`
	ExpiresAt  types.String `tfsdk:"expires_at"`
	TrustLevel types.String `tfsdk:"trust_level"`
	DID        types.String `tfsdk:"did"`
}

func (e *serverBadgeEphemeralResource) Metadata(_ context.Context, req ephemeral.MetadataRequest, resp *ephemeral.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_server_badge"
}

func (e *serverBadgeEphemeralResource) Schema(_ context.Context, _ ephemeral.SchemaRequest, resp *ephemeral.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A fresh trust badge for an MCP server, for the run that asks for it: a `check` block or " +
			"smoke test that calls a deployed server, or a secret store's write-only argument. The badge is a short-lived " +
			"bearer token (minutes), so it never reaches plan or state.\n\n" +
			"Terraform opens an ephemeral resource during plan **and again** during apply, so every run asks the registry " +
			"for new badges (two per apply). Each one is verified against the registry's published keys (`EdDSA` " +
			"signature, `sub` is the server's DID, `key` is its registered key, a sane expiry) before it is handed on. " +
			"Requires Terraform or OpenTofu >= 1.11 (the versions this provider supports).",
		Attributes: map[string]schema.Attribute{
			"server_id": schema.StringAttribute{
				MarkdownDescription: "UUID of the server record, such as `capiscio_server_identity.NAME.id`.",
				Required:            true,
				Validators:          []validator.String{uuidValidator()},
			},
			"domain": schema.StringAttribute{
				MarkdownDescription: "Domain put in the badge (`vc.credentialSubject.domain`). Unset: derived from the " +
					"registry URL as the runtime SDK does (the host, plus `:port` when not 80 or 443).",
				Optional:   true,
				Computed:   true,
				Validators: []validator.String{notBlankValidator(), domainValidator()},
			},
			"badge": schema.StringAttribute{
				MarkdownDescription: "The badge, a compact JWS signed by the registry.",
				Computed:            true,
				Sensitive:           true,
			},
			"jti": schema.StringAttribute{
				MarkdownDescription: "The badge's `jti`, to look up its revocation status.",
				Computed:            true,
			},
			"expires_at": schema.StringAttribute{
				MarkdownDescription: "When the badge expires (RFC 3339).",
				Computed:            true,
			},
			"trust_level": schema.StringAttribute{
				MarkdownDescription: "The badge's trust level (`1` = Registered).",
				Computed:            true,
			},
			"did": schema.StringAttribute{
				MarkdownDescription: "The server's `did:web`, the badge's `sub`.",
				Computed:            true,
			},
		},
	}
}

func (e *serverBadgeEphemeralResource) Configure(_ context.Context, req ephemeral.ConfigureRequest, resp *ephemeral.ConfigureResponse) {
	e.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

// Open asks the registry for a badge and hands it on.
func (e *serverBadgeEphemeralResource) Open(ctx context.Context, req ephemeral.OpenRequest, resp *ephemeral.OpenResponse) {
	var m serverBadgeModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if e.data == nil || e.data.client == nil {
		resp.Diagnostics.AddError("Provider Not Configured",
			"The capiscio provider was not configured before capiscio_server_badge was opened. This is always a bug in the provider; please report it.")
		return
	}
	ctx = maskSecrets(ctx, e.data.client)
	id := m.ServerID.ValueString()
	domain := m.Domain.ValueString()
	if m.Domain.IsNull() {
		domain = protocol.DefaultDomain(e.data.registryURL)
	}
	record, err := e.data.reader.GetServer(ctx, id)
	if err != nil {
		addRegistryError(&resp.Diagnostics, "Unable to Issue Badge", fmt.Sprintf("Reading server record %s, whose DID and key the badge must name, failed.", id), err)
		return
	}
	registered, ok := registeredPublic(record)
	if !ok {
		resp.Diagnostics.AddError("Unable to Issue Badge",
			fmt.Sprintf("The registry did not say which key server record %s holds, so a badge for it cannot be verified.", id))
		return
	}
	badge, err := e.data.client.IssueBadge(ctx, id, protocol.BadgeRequest{Domain: domain})
	if err != nil {
		addRegistryError(&resp.Diagnostics, "Unable to Issue Badge", fmt.Sprintf("Asking the registry for a badge for server record %s failed.", id), err)
		return
	}
	ctx = maskBadge(ctx, badge.Badge)
	verified, err := e.data.client.VerifyBadge(ctx, badge.Badge, registry.BadgeWant{DID: record.DID, Key: registered.Key})
	if err != nil {
		resp.Diagnostics.AddError("Badge Did Not Verify",
			fmt.Sprintf("The registry sent a badge for server record %s that must not be used: %s. A badge that does not verify "+
				"against the registry's published keys, or names another server or key, is refused; report it to the registry's "+
				"operator.", id, err))
		return
	}
	tflog.Debug(ctx, "Issued and verified ephemeral badge", map[string]any{"server_id": id, "badge_jti": verified.JTI})
	m.Domain = types.StringValue(domain)
	m.Badge = types.StringValue(badge.Badge)
	m.JTI = types.StringValue(verified.JTI)
	m.ExpiresAt = types.StringValue(verified.ExpiresAt.Format(time.RFC3339))
	m.TrustLevel = stringOrNull(verified.TrustLevel)
	m.DID = types.StringValue(verified.Subject)
	resp.Diagnostics.Append(resp.Result.Set(ctx, &m)...)
	resp.RenewAt = verified.ExpiresAt.Add(-badgeRenewMargin)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, "exp", []byte(fmt.Sprintf("%q", m.ExpiresAt.ValueString())))...)
}

// Renew runs when a badge is about to expire while Terraform still uses it.
// A badge cannot be extended and the value Terraform already handed on
// cannot change, so Renew says so instead of pretending.
func (e *serverBadgeEphemeralResource) Renew(ctx context.Context, req ephemeral.RenewRequest, resp *ephemeral.RenewResponse) {
	exp, diags := req.Private.GetKey(ctx, "exp")
	resp.Diagnostics.Append(diags...)
	resp.Diagnostics.AddWarning("Badge About to Expire",
		fmt.Sprintf("A capiscio_server_badge opened by this run expires at %s and a badge cannot be renewed in place. "+
			"Whatever still uses it after that time gets an expired badge; run the command again for a fresh one.", trimQuotes(string(exp))))
}

func trimQuotes(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}
