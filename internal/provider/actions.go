package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registry"
)

// What every action shares: the configured check, progress messages, and
// reading the record an action names.

// actionsChangeNoStateNote ends the description of every action that changes
// the registry: what an action cannot do, in the words a user needs.
const actionsChangeNoStateNote = "\n\nAn action changes the registry only, never Terraform state: a " +
	"`capiscio_server_identity` holding the record shows the new `status` after its next refresh (the next plan, " +
	"or `terraform apply -refresh-only`). Requires Terraform >= 1.14 (OpenTofu has no actions yet)."

// actionConfigured reports whether the provider handed the action its data.
func actionConfigured(data *providerData, typeName string, diags *diag.Diagnostics) bool {
	if data == nil || data.client == nil {
		diags.AddError("Provider Not Configured",
			fmt.Sprintf("The capiscio provider was not configured before the %s action was invoked. This is always a bug in "+
				"the provider; please report it.", typeName))
		return false
	}
	return true
}

// requireArguments reports the required arguments that are null. Terraform
// (1.16) hands an action a null from a variable (default = null) without the
// "Missing required argument" error it gives a resource, so each action calls
// this in ModifyPlan (plan -invoke, and the plan of a triggering resource)
// and again in Invoke. Unknown values pass: they are known by the invocation.
func requireArguments(ctx context.Context, cfg tfsdk.Config, diags *diag.Diagnostics, names ...string) {
	for _, name := range names {
		var v types.String
		diags.Append(cfg.GetAttribute(ctx, path.Root(name), &v)...)
		if v.IsNull() {
			diags.AddAttributeError(path.Root(name), "Missing Action Argument",
				fmt.Sprintf("The action's %s is null, so there is nothing to act on. Give it a value: a reference such as "+
					"capiscio_server_identity.NAME.id, or a variable set on the command line (-var %s=...).", name, name))
		}
	}
}

// progress sends one progress message to Terraform, which prints it under the
// action's address, and logs it.
func progress(ctx context.Context, resp *action.InvokeResponse, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	tflog.Debug(ctx, "Action progress", map[string]any{"message": msg})
	if resp.SendProgress != nil {
		resp.SendProgress(action.InvokeProgressEvent{Message: msg})
	}
}

// readActionRecord reads the record an action names by server_id, fresh from
// the registry (never from the batched reader: an action reports what the
// registry holds now). A 404 says what the registry can tell about it.
func readActionRecord(ctx context.Context, data *providerData, id, attempted string, diags *diag.Diagnostics) (*protocol.Server, bool) {
	server, err := data.client.GetServer(ctx, id)
	switch {
	case registry.IsNotFound(err):
		addRecordNotFound(ctx, data.client, diags, id, err,
			"Check server_id: it must be the id of a record of the API key's organisation, such as "+
				"capiscio_server_identity.NAME.id.")
		return nil, false
	case err != nil:
		addRegistryError(diags, "Unable to Read Server Record", fmt.Sprintf("Reading server record %s failed. %s", id, attempted), err)
		return nil, false
	}
	return server, true
}

// describeRecord names a record for a progress message: its id, name and DID.
func describeRecord(s *protocol.Server) string {
	if s.Name == "" {
		return fmt.Sprintf("%s (%s)", s.ID, s.DID)
	}
	return fmt.Sprintf("%s (%q, %s)", s.ID, s.Name, s.DID)
}

// formatActionTime formats a registry time for a message, in UTC.
func formatActionTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "an unknown time"
	}
	return t.UTC().Format(time.RFC3339)
}
