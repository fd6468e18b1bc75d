package provider

import (
	"github.com/hashicorp/terraform-plugin-framework/action"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registry"
)

// NewServerEnableAction returns the capiscio_server_enable action.
func NewServerEnableAction() action.Action {
	return &serverStatusAction{change: statusChange{
		typeSuffix: "_server_enable",
		status:     protocol.StatusActive,
		verb:       "enable",
		description: "Enables a disabled MCP server record in the CapiscIO registry again, once an incident is over: " +
			"the registry issues it badges again and its status is `active`.\n\n" +
			"What it does not do: it does not rotate the key (if the key leaked, rotate it first with " +
			"`terraform apply -replace=ADDRESS` on the identity), and it does not restore badges revoked in the meantime. " +
			"Enabling a record that is already active changes nothing.",
		call: (*registry.Client).EnableServer,
		done: func(*protocol.Server) string {
			return "The registry issues it badges again. The runtime SDK asks again as its badge nears expiry; an MCP " +
				"server started while the record was disabled may need a restart to get one."
		},
	}}
}
