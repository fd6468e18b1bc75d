# External key: the key pair is generated outside Terraform, for example with
#
#   openssl genpkey -algorithm ed25519 -out search.pem
#   openssl pkey -in search.pem -pubout -out search.pub.pem
#
# Only the public key is given to Terraform. You deliver search.pem to the MCP
# server's CAPISCIO_SERVER_PRIVATE_KEY_PEM yourself.
terraform {
  required_version = ">= 1.11"
  required_providers {
    capiscio = {
      source = "capiscio/capiscio"
    }
  }
}

provider "capiscio" {}

resource "capiscio_server_identity" "search" {
  name                    = "search-mcp-server"
  external_public_key_pem = file("${path.module}/search.pub.pem")
}

# Known at plan time: they are computed from the public key.
output "did_key" {
  value = capiscio_server_identity.search.did_key
}

output "key_id" {
  value = capiscio_server_identity.search.key_id
}

# Known after apply: the registry assigns it.
output "did" {
  value = capiscio_server_identity.search.did
}
