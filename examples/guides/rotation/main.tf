# Rotation, declared: change var.key_generation (or run
# terraform apply -replace=capiscio_server_identity.search) and the apply
# generates a new key, registers it and gets a new badge. The registry revokes
# the old key's badges.
terraform {
  required_version = ">= 1.11"
  required_providers {
    capiscio = {
      source = "capiscio/capiscio"
    }
  }
}

variable "key_generation" {
  description = "Any new value rotates the server's key."
  type        = string
  default     = "2026-11"
}

provider "capiscio" {}

resource "capiscio_server_identity" "search" {
  name = "search-mcp-server"

  rotation_triggers = {
    generation = var.key_generation
  }

  # Register the new identity before the old record is deleted, so that
  # dependants switch over in between.
  lifecycle {
    create_before_destroy = true
  }
}

# A record made in the CapiscIO dashboard keeps its id and its did:web across
# rotations: only the key (and so the badges) change.
resource "capiscio_server_identity" "billing" {
  server_id = "550e8400-e29b-41d4-a716-446655440000"

  rotation_triggers = {
    generation = var.key_generation
  }
}

output "search_did" {
  value = capiscio_server_identity.search.did
}

output "search_key_id" {
  value = capiscio_server_identity.search.key_id
}

output "billing_did" {
  value = capiscio_server_identity.billing.did
}
