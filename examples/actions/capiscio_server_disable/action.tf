# Disable a compromised MCP server's record now (Terraform >= 1.14):
#
#   terraform apply -invoke=action.capiscio_server_disable.incident
#
# The registry refuses the record new badges from then on. Terraform state is
# not changed; the identity shows status = "disabled" after its next refresh,
# and no plan re-enables it.
action "capiscio_server_disable" "incident" {
  config {
    server_id = capiscio_server_identity.api.id
  }
}
