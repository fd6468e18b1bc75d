# Write-only custody with AWS Secrets Manager: the private key is generated
# during the apply, registered, and written to Secrets Manager, and is never
# stored in a Terraform plan or state.
terraform {
  required_version = ">= 1.11"
  required_providers {
    capiscio = {
      source = "capiscio/capiscio"
    }
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.88" # secret_string_wo
    }
  }
}

provider "capiscio" {}

provider "aws" {
  region = "eu-west-1"
}

# Opened in the plan and again in the apply, with a new key each time. Only the
# apply's key is used, and only by resources whose version changes in that apply.
ephemeral "capiscio_server_key" "search" {}

resource "capiscio_server_identity" "search" {
  name = "search-mcp-server"

  private_key_wo         = ephemeral.capiscio_server_key.search.private_key_pem
  private_key_wo_version = 1 # bump to rotate
}

resource "aws_secretsmanager_secret" "search_key" {
  name        = "mcp/search-mcp-server/private-key"
  description = "CAPISCIO_SERVER_PRIVATE_KEY_PEM of the search MCP server"
}

resource "aws_secretsmanager_secret_version" "search_key" {
  secret_id = aws_secretsmanager_secret.search_key.id

  # The same ephemeral key, in the same apply. key_serial changes exactly when
  # the identity gets a new key, so the secret is written then and only then.
  secret_string_wo         = ephemeral.capiscio_server_key.search.private_key_pem_env
  secret_string_wo_version = capiscio_server_identity.search.key_serial
}

output "did" {
  value = capiscio_server_identity.search.did
}

output "private_key_secret_arn" {
  value = aws_secretsmanager_secret.search_key.arn
}
