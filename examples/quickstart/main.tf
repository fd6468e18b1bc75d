# Quickstart: one MCP server identity, registered with the CapiscIO registry.
#
# The provider reads the registry URL and API key from CAPISCIO_REGISTRY_URL and
# CAPISCIO_API_KEY (`make demo` sets both for a local registry).

terraform {
  required_version = ">= 1.11"
  required_providers {
    capiscio = {
      source = "capiscio/capiscio"
    }
  }
}

provider "capiscio" {}

resource "capiscio_server_identity" "quickstart" {
  name = "quickstart-mcp-server"
}

output "server_id" {
  value = capiscio_server_identity.quickstart.server_id
}

output "did" {
  value = capiscio_server_identity.quickstart.did
}

output "did_key" {
  value = capiscio_server_identity.quickstart.did_key
}

output "key_id" {
  value = capiscio_server_identity.quickstart.key_id
}

output "public_key_pem" {
  value = capiscio_server_identity.quickstart.public_key_pem
}

output "badge_expires_at" {
  value = capiscio_server_identity.quickstart.badge_expires_at
}

output "private_key_pem" {
  value     = capiscio_server_identity.quickstart.private_key_pem
  sensitive = true
}

# The environment the MCP server's runtime SDK reads: CAPISCIO_SERVER_ID,
# CAPISCIO_SERVER_URL and CAPISCIO_SERVER_PRIVATE_KEY_PEM (the key on one line
# with literal \n).
output "env" {
  value     = capiscio_server_identity.quickstart.env
  sensitive = true
}
