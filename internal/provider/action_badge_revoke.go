package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/action/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registry"
)

var (
	_ action.Action               = (*badgeRevokeAction)(nil)
	_ action.ActionWithConfigure  = (*badgeRevokeAction)(nil)
	_ action.ActionWithModifyPlan = (*badgeRevokeAction)(nil)
)

// NewBadgeRevokeAction returns the capiscio_badge_revoke action.
func NewBadgeRevokeAction() action.Action {
	return &badgeRevokeAction{}
}

type badgeRevokeAction struct {
	data *providerData
}

type badgeRevokeActionModel struct {
	JTI    types.String `tfsdk:"jti"`
	Reason types.String `tfsdk:"reason"`
}

func (a *badgeRevokeAction) Metadata(_ context.Context, req action.MetadataRequest, resp *action.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_badge_revoke"
}

func (a *badgeRevokeAction) Schema(_ context.Context, _ action.SchemaRequest, resp *action.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Revokes one trust badge **now**, by its `jti`: after a badge leaked (a log, a screenshot, " +
			"a crash dump). Verifiers that check revocation (the registry's public badge status) reject it from then on; " +
			"the action reads that status back and reports it.\n\n" +
			"What it does not do: it revokes this badge only. The server's key stays registered and its record stays " +
			"active, so the server keeps getting new badges: if the private key leaked too, disable the record with " +
			"`capiscio_server_disable` and rotate the key. Revoking a badge that is already revoked changes nothing (the " +
			"first reason stays)." + actionsChangeNoStateNote,
		Attributes: map[string]schema.Attribute{
			"jti": schema.StringAttribute{
				MarkdownDescription: "The badge's `jti` (a UUID), such as `capiscio_server_identity.NAME.badge_jti`, " +
					"`ephemeral.capiscio_server_badge.NAME.jti`, or the `jti` claim that " +
					"`provider::capiscio::badge_claims(token).jti` of a leaked token. The badge must be one of a " +
					"server of the provider's API key's organisation.",
				Required:   true,
				Validators: []validator.String{jtiValidator()},
			},
			"reason": schema.StringAttribute{
				MarkdownDescription: fmt.Sprintf("Why the badge is revoked, recorded by the registry and shown in its "+
					"status (default: `%s`). Printable text of at most %d characters; it is public, like the status.",
					protocol.ReasonRevoked, protocol.MaxReasonRunes),
				Optional:   true,
				Validators: []validator.String{notBlankValidator(), revokeReasonValidator()},
			},
		},
	}
}

func (a *badgeRevokeAction) Configure(_ context.Context, req action.ConfigureRequest, resp *action.ConfigureResponse) {
	a.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (a *badgeRevokeAction) ModifyPlan(ctx context.Context, req action.ModifyPlanRequest, resp *action.ModifyPlanResponse) {
	requireArguments(ctx, req.Config, &resp.Diagnostics, "jti")
}

// Invoke reads the badge's public status, revokes it unless it is revoked
// already, and reads the status back.
func (a *badgeRevokeAction) Invoke(ctx context.Context, req action.InvokeRequest, resp *action.InvokeResponse) {
	var m badgeRevokeActionModel
	requireArguments(ctx, req.Config, &resp.Diagnostics, "jti")
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || !actionConfigured(a.data, providerTypeName+"_badge_revoke", &resp.Diagnostics) {
		return
	}
	ctx = maskSecrets(ctx, a.data.client)
	jti := m.JTI.ValueString()
	ctx = tflog.SetField(ctx, "badge_jti", jti)

	before, ok := a.status(ctx, jti, &resp.Diagnostics)
	if !ok {
		return
	}
	if before.Revoked {
		progress(ctx, resp, "Badge %s %s was already revoked; nothing to do. %s", jti, describeSubject(before), describeRevocation(before, a.now()))
		return
	}
	progress(ctx, resp, "Revoking badge %s %s", jti, describeSubject(before))
	if !a.revoke(ctx, jti, m.Reason.ValueString(), &resp.Diagnostics) {
		return
	}
	after, ok := a.status(ctx, jti, &resp.Diagnostics)
	switch {
	case !ok:
		return
	case !after.Revoked:
		resp.Diagnostics.AddError("Badge Revocation Not Confirmed",
			fmt.Sprintf("The registry accepted the revocation of badge %s, but its public status still says it is not "+
				"revoked. Run the action again; if it keeps happening, report it to the registry's operator.", jti))
		return
	}
	tflog.Info(ctx, "Revoked badge", map[string]any{"reason": after.Reason})
	progress(ctx, resp, "Badge %s %s is revoked. %s", jti, describeSubject(after), describeRevocation(after, a.now()))
}

// status reads a badge's public status document.
func (a *badgeRevokeAction) status(ctx context.Context, jti string, diags *diag.Diagnostics) (*protocol.BadgeStatus, bool) {
	st, err := a.data.client.BadgeStatus(ctx, jti)
	switch {
	case registry.IsNotFound(err):
		diags.AddAttributeError(path.Root("jti"), "Badge Not Found",
			fmt.Sprintf("The registry at %s knows no badge with jti %s. Check jti, and that the provider's registry_url "+
				"(or %s) is the registry that issued the badge (its iss claim).", a.data.registryURL, jti, EnvRegistryURL))
		return nil, false
	case err != nil:
		addRegistryError(diags, "Unable to Read Badge Status", fmt.Sprintf("Reading the public status of badge %s failed.", jti), err)
		return nil, false
	}
	return st, true
}

// revoke asks the registry to revoke the badge. The status route answered
// for this jti, so a 404 here means the badge belongs to another
// organisation's server.
func (a *badgeRevokeAction) revoke(ctx context.Context, jti, reason string, diags *diag.Diagnostics) bool {
	err := a.data.client.RevokeBadge(ctx, jti, reason)
	switch {
	case registry.IsNotFound(err):
		diags.AddAttributeError(path.Root("jti"), "Badge Belongs to Another Organisation",
			fmt.Sprintf("Badge %s exists (its public status answers), but it was issued to a server of another "+
				"organisation than the provider's API key's. Use an API key of that organisation (api_key or %s).", jti, EnvAPIKey))
		return false
	case err != nil:
		addRegistryError(diags, "Unable to Revoke Badge", fmt.Sprintf("Revoking badge %s failed; run the action again: it "+
			"is safe to repeat.", jti), err)
		return false
	}
	return true
}

func (a *badgeRevokeAction) now() time.Time { return a.data.clock.Now() }

// describeSubject names the server a badge was issued to, when the status says.
func describeSubject(st *protocol.BadgeStatus) string {
	if st.Sub == "" {
		return "(subject not given)"
	}
	return "of " + st.Sub
}

// describeRevocation says when and why a badge was revoked, and whether it
// had expired anyway.
func describeRevocation(st *protocol.BadgeStatus, now time.Time) string {
	msg := fmt.Sprintf("Revoked at %s", formatActionTime(st.RevokedAt))
	if st.Reason != "" {
		msg += fmt.Sprintf(", reason %q", st.Reason)
	}
	msg += "; verifiers that check revocation reject it."
	if st.ExpiresAt != nil && !st.ExpiresAt.After(now) {
		msg += fmt.Sprintf(" (It had expired at %s anyway.)", formatActionTime(st.ExpiresAt))
	}
	return msg
}

// jtiValidator checks a badge jti, the registry's rule (protocol.CheckJTI).
func jtiValidator() validator.String {
	return stringCheck{
		summary:     "Invalid Badge JTI",
		description: "value must be a badge jti, a UUID such as 550e8400-e29b-41d4-a716-446655440000",
		check: func(s string) error {
			if strings.Count(s, ".") == 2 && strings.HasPrefix(s, "eyJ") {
				// A token, not its jti: never quote it.
				return fmt.Errorf("the value is a badge token, not its jti; give its jti claim, for example " +
					"provider::capiscio::badge_claims(token).jti")
			}
			if err := protocol.CheckJTI(s); err != nil {
				return fmt.Errorf("%w (the jti claim of the badge, not the badge itself)", err)
			}
			return nil
		},
	}
}

// revokeReasonValidator checks a revocation reason the way the registry does:
// printable text of at most protocol.MaxReasonRunes characters.
func revokeReasonValidator() validator.String {
	return stringCheck{
		summary:     "Invalid Revocation Reason",
		description: fmt.Sprintf("value must be printable text of at most %d characters", protocol.MaxReasonRunes),
		check: func(s string) error {
			return protocol.CheckText(s, "the reason", protocol.MaxReasonRunes)
		},
	}
}
