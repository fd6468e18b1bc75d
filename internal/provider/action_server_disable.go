package provider

import (
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/action"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registry"
)

// NewServerDisableAction returns the capiscio_server_disable action.
func NewServerDisableAction() action.Action {
	return &serverStatusAction{change: statusChange{
		typeSuffix: "_server_disable",
		status:     protocol.StatusDisabled,
		verb:       "disable",
		description: "Disables an MCP server's record in the CapiscIO registry **now**, for incident response: a " +
			"compromised server or a leaked private key. The registry then refuses the record new badges, and verifiers " +
			"that check the server's status see `disabled`.\n\n" +
			"What it does not do: it does not revoke badges issued before (they stay valid until they expire, minutes " +
			"later; revoke a leaked one now with `capiscio_badge_revoke`), and it does not delete the record or change its " +
			"key or DID. Terraform never re-enables a disabled record by itself: the plan of a `capiscio_server_identity` " +
			"holding it warns and changes nothing until you run `capiscio_server_enable` or replace the identity. " +
			"Disabling a record that is already disabled changes nothing.",
		call: (*registry.Client).DisableServer,
		done: func(s *protocol.Server) string {
			return fmt.Sprintf("Disabled since %s: the registry issues it no new badges. Badges issued before stay valid "+
				"until they expire unless revoked (capiscio_badge_revoke).", formatActionTime(s.DisabledAt))
		},
	}}
}
