# A record the provider creates (and deletes on destroy).
resource "capiscio_server_identity" "search" {
  name = "search-mcp-server"

  # Change any value to rotate the key.
  rotation_triggers = {
    rotated = "2026-11"
  }
}

# A record made in the CapiscIO dashboard: the provider registers a key on it
# and leaves the record in place on destroy.
resource "capiscio_server_identity" "billing" {
  server_id = "550e8400-e29b-41d4-a716-446655440000"
  domain    = "billing.mcp.example.com"
}

# Hand the identity to the MCP server's runtime, e.g. a Lambda function:
#
#   environment {
#     variables = capiscio_server_identity.search.env
#   }
output "search_did" {
  value = capiscio_server_identity.search.did
}
