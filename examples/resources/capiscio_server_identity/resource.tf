# Generate mode: a record the provider creates (and deletes on destroy). The
# provider generates the key; the private key is stored, marked sensitive, in
# the state.
resource "capiscio_server_identity" "search" {
  name = "search-mcp-server"

  # Change any value to rotate the key.
  rotation_triggers = {
    rotated = "2026-11"
  }
}

# A record made in the CapiscIO dashboard: the provider registers a key on it
# and leaves the record in place on destroy. Rotations keep its did:web.
resource "capiscio_server_identity" "billing" {
  server_id = "550e8400-e29b-41d4-a716-446655440000"
  domain    = "billing.mcp.example.com"

  # Once the key is 90 days old, the next plan replaces it.
  rotate_after = "90d"
}

# Write-only mode: the key is generated during the apply and never stored in
# plan or state. Write it to a secret store in the same apply, versioned by
# key_serial (see the write-only-secrets guide).
ephemeral "capiscio_server_key" "files" {}

resource "capiscio_server_identity" "files" {
  name                   = "files-mcp-server"
  private_key_wo         = ephemeral.capiscio_server_key.files.private_key_pem
  private_key_wo_version = 1 # bump to rotate
}

resource "aws_secretsmanager_secret_version" "files_key" {
  secret_id                = "mcp/files-mcp-server/private-key"
  secret_string_wo         = ephemeral.capiscio_server_key.files.private_key_pem_env
  secret_string_wo_version = capiscio_server_identity.files.key_serial
}

# External key: only the public key is given, for a key generated elsewhere:
#   openssl genpkey -algorithm ed25519 -out weather.pem
#   openssl pkey -in weather.pem -pubout -out weather.pub.pem
resource "capiscio_server_identity" "weather" {
  name                    = "weather-mcp-server"
  external_public_key_pem = file("${path.module}/weather.pub.pem")
}

# Hand the identity to the MCP server's runtime, e.g. a Lambda function:
#
#   environment {
#     variables = capiscio_server_identity.search.env
#   }
output "search_did" {
  value = capiscio_server_identity.search.did
}
