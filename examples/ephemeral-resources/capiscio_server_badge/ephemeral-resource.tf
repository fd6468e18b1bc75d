# A fresh badge for a smoke test after deploying an MCP server. It is never
# stored: each plan and each apply asks the registry for a new one.
ephemeral "capiscio_server_badge" "search" {
  server_id = capiscio_server_identity.search.id
  domain    = capiscio_server_identity.search.domain # null: the registry URL's host, as the SDK does
}

# Runs again whenever the identity gets a new key. Terraform suppresses the
# provisioner's output because its environment holds an ephemeral value.
resource "terraform_data" "smoke_test" {
  triggers_replace = [capiscio_server_identity.search.key_serial]

  provisioner "local-exec" {
    command = "curl --fail --silent -H \"X-Capiscio-Badge: $BADGE\" https://search.mcp.example.com/health"
    environment = {
      BADGE = ephemeral.capiscio_server_badge.search.badge
    }
  }
}
