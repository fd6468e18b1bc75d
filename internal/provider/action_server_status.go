package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/action/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registry"
)

// The one implementation of capiscio_server_disable and capiscio_server_enable:
// they differ only in their statusChange (action_server_disable.go,
// action_server_enable.go).

var (
	_ action.Action               = (*serverStatusAction)(nil)
	_ action.ActionWithConfigure  = (*serverStatusAction)(nil)
	_ action.ActionWithModifyPlan = (*serverStatusAction)(nil)
)

// statusChange is what one of the two actions does.
type statusChange struct {
	typeSuffix  string // "_server_disable"
	status      string // the status the action sets
	verb        string // "disable", for messages
	description string // the action's MarkdownDescription, without the common note
	// call asks the registry for the change.
	call func(c *registry.Client, ctx context.Context, id string) (*protocol.Server, error)
	// done says what the new status means, once it is set.
	done func(s *protocol.Server) string
}

type serverStatusAction struct {
	data   *providerData
	change statusChange
}

// serverStatusActionModel is the configuration of both actions.
type serverStatusActionModel struct {
	ServerID types.String `tfsdk:"server_id"`
}

func (a *serverStatusAction) Metadata(_ context.Context, req action.MetadataRequest, resp *action.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + a.change.typeSuffix
}

func (a *serverStatusAction) Schema(_ context.Context, _ action.SchemaRequest, resp *action.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: a.change.description + actionsChangeNoStateNote,
		Attributes: map[string]schema.Attribute{
			"server_id": schema.StringAttribute{
				MarkdownDescription: fmt.Sprintf("UUID of the server record to %s, such as `capiscio_server_identity.NAME.id`. "+
					"The record must belong to the organisation of the provider's API key.", a.change.verb),
				Required:   true,
				Validators: []validator.String{uuidValidator()},
			},
		},
	}
}

func (a *serverStatusAction) Configure(_ context.Context, req action.ConfigureRequest, resp *action.ConfigureResponse) {
	a.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (a *serverStatusAction) ModifyPlan(ctx context.Context, req action.ModifyPlanRequest, resp *action.ModifyPlanResponse) {
	requireArguments(ctx, req.Config, &resp.Diagnostics, "server_id")
}

// Invoke reads the record, changes its status unless it already has it, and
// checks the registry's answer. Doing it again changes nothing.
func (a *serverStatusAction) Invoke(ctx context.Context, req action.InvokeRequest, resp *action.InvokeResponse) {
	var m serverStatusActionModel
	requireArguments(ctx, req.Config, &resp.Diagnostics, "server_id")
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || !actionConfigured(a.data, providerTypeName+a.change.typeSuffix, &resp.Diagnostics) {
		return
	}
	ctx = maskSecrets(ctx, a.data.client)
	id := m.ServerID.ValueString()
	ctx = tflog.SetField(ctx, "server_id", id)

	before, ok := readActionRecord(ctx, a.data, id, fmt.Sprintf("Nothing was changed; run the action again to %s it.", a.change.verb), &resp.Diagnostics)
	if !ok {
		return
	}
	if before.Status == a.change.status {
		progress(ctx, resp, "Server record %s is already %s; nothing to do. %s", describeRecord(before), a.change.status, a.change.done(before))
		return
	}
	progress(ctx, resp, "Server record %s is %s; asking the registry to %s it", describeRecord(before), before.Status, a.change.verb)
	after, ok := a.set(ctx, id, &resp.Diagnostics)
	if !ok {
		return
	}
	tflog.Info(ctx, "Changed server record status", map[string]any{"status": after.Status, "previous_status": before.Status})
	progress(ctx, resp, "Server record %s is now %s. %s", id, after.Status, a.change.done(after))
}

// set asks the registry for the change and checks that the record it returns
// has the new status (read after write).
func (a *serverStatusAction) set(ctx context.Context, id string, diags *diag.Diagnostics) (*protocol.Server, bool) {
	summary := fmt.Sprintf("Unable to %s Server Record", titleWord(a.change.verb))
	after, err := a.change.call(a.data.client, ctx, id)
	a.data.reader.Forget(id)
	switch {
	case registry.IsNotFound(err):
		// Deleted, or moved out of reach, between the read and the change.
		addRecordNotFound(ctx, a.data.client, diags, id, err, "It was there a moment ago: check whether it was deleted.")
		return nil, false
	case err != nil:
		addRegistryError(diags, summary, fmt.Sprintf("Asking the registry to %s server record %s failed; its status may or may "+
			"not have changed. Run the action again: it is safe to repeat.", a.change.verb, id), err)
		return nil, false
	case after.Status != a.change.status:
		diags.AddError(summary, fmt.Sprintf("The registry accepted the request to %s server record %s, but the record it "+
			"returned has status %q, not %q. Run the action again; if it keeps happening, report it to the registry's operator.",
			a.change.verb, id, after.Status, a.change.status))
		return nil, false
	}
	return after, true
}

// titleWord upper-cases the first letter of an ASCII word ("disable" ->
// "Disable") for a Title Case summary.
func titleWord(w string) string {
	if w == "" || w[0] < 'a' || w[0] > 'z' {
		return w
	}
	return string(w[0]-'a'+'A') + w[1:]
}
