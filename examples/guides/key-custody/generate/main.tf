# Generate mode: the provider generates the key and keeps it, marked sensitive,
# in the Terraform state. Use a state backend that encrypts at rest and limits
# who can read it.
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
  name = "search-mcp-server"
}

# Everything the runtime needs, including CAPISCIO_SERVER_PRIVATE_KEY_PEM.
# Hand it to a Lambda function, a container, or a secret store.
output "env" {
  value     = capiscio_server_identity.search.env
  sensitive = true
}
