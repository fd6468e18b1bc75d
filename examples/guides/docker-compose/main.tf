# Docker Compose: Terraform declares the identity and writes the .env file that
# docker compose reads to fill in compose.yaml. Generate mode: the key is in the
# Terraform state and in .env, which is fine for a developer machine and a
# local state file, and is what the SDK's first-run hint asks you to do by hand.
terraform {
  required_version = ">= 1.11"
  required_providers {
    capiscio = {
      source = "capiscio/capiscio"
    }
    local = {
      source  = "hashicorp/local"
      version = ">= 2.2" # local_sensitive_file
    }
  }
}

provider "capiscio" {}

resource "capiscio_server_identity" "mcp_server" {
  name = "my-server"
}

# Single quotes: docker compose takes the value literally, so the \n escapes
# reach CAPISCIO_SERVER_PRIVATE_KEY_PEM unchanged, as the SDK expects.
resource "local_sensitive_file" "dotenv" {
  filename        = "${path.module}/.env"
  file_permission = "0600"
  content         = <<-EOT
    CAPISCIO_SERVER_ID=${capiscio_server_identity.mcp_server.server_id}
    CAPISCIO_SERVER_URL=${capiscio_server_identity.mcp_server.registry_url}
    CAPISCIO_SERVER_DOMAIN=${capiscio_server_identity.mcp_server.domain}
    MCP_SERVER_KEY='${capiscio_server_identity.mcp_server.private_key_pem_env}'
  EOT
}

# For writing .env without the local provider (see the guide).
output "server_id" {
  value = capiscio_server_identity.mcp_server.server_id
}

output "registry_url" {
  value = capiscio_server_identity.mcp_server.registry_url
}

output "private_key_pem_env" {
  value     = capiscio_server_identity.mcp_server.private_key_pem_env
  sensitive = true
}
