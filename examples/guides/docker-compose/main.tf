# Docker Compose: Terraform declares the identity and writes the .env file that
# docker compose reads to fill in compose.yaml. Generate mode: the key is in the
# Terraform state and in .env, which is fine for a developer machine and a
# local state file. CapiscIO's deployment guide has you fill .env by hand from
# the SDK's first-run hint, which no longer prints the key.
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

# env holds exactly what the runtime SDK reads (CAPISCIO_SERVER_DOMAIN only when
# domain is set). compose.yaml names the key MCP_SERVER_KEY, so that entry is
# renamed. Single quotes: docker compose takes the value literally, so the \n
# escapes reach CAPISCIO_SERVER_PRIVATE_KEY_PEM unchanged, as the SDK expects.
locals {
  dotenv = {
    for k, v in capiscio_server_identity.mcp_server.env :
    (k == "CAPISCIO_SERVER_PRIVATE_KEY_PEM" ? "MCP_SERVER_KEY" : k) => v
  }
}

resource "local_sensitive_file" "dotenv" {
  filename        = "${path.module}/.env"
  file_permission = "0600"
  content         = join("", [for k in sort(keys(local.dotenv)) : "${k}='${local.dotenv[k]}'\n"])
}

# For writing .env without the local provider (see the guide).
output "server_id" {
  value = capiscio_server_identity.mcp_server.server_id
}

output "registry_url" {
  value = capiscio_server_identity.mcp_server.registry_url
}

output "server_key_env" {
  value     = capiscio_server_identity.mcp_server.env["CAPISCIO_SERVER_PRIVATE_KEY_PEM"]
  sensitive = true
}
