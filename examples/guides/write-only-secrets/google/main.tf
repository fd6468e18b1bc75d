# Write-only custody with Google Secret Manager: the private key is generated
# during the apply, registered, and written to Secret Manager, and is never
# stored in a Terraform plan or state.
terraform {
  required_version = ">= 1.11"
  required_providers {
    capiscio = {
      source = "capiscio/capiscio"
    }
    google = {
      source  = "hashicorp/google"
      version = ">= 6.25" # secret_data_wo
    }
  }
}

variable "project_id" {
  type = string
}

provider "capiscio" {}

provider "google" {
  project = var.project_id
}

# Opened in the plan and again in the apply, with a new key each time. Only the
# apply's key is used, and only by resources whose version changes in that apply.
ephemeral "capiscio_server_key" "search" {}

resource "capiscio_server_identity" "search" {
  name = "search-mcp-server"

  private_key_wo         = ephemeral.capiscio_server_key.search.private_key_pem
  private_key_wo_version = 1 # bump to rotate
}

resource "google_secret_manager_secret" "search_key" {
  secret_id = "search-mcp-server-private-key"

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "search_key" {
  secret = google_secret_manager_secret.search_key.id

  # The same ephemeral key, in the same apply. key_serial changes exactly when
  # the identity gets a new key, so a new secret version is added then and only then.
  secret_data_wo         = ephemeral.capiscio_server_key.search.private_key_pem_env
  secret_data_wo_version = capiscio_server_identity.search.key_serial

  # A new key replaces this resource: add the new version before the old one
  # is destroyed.
  lifecycle {
    create_before_destroy = true
  }
}

output "did" {
  value = capiscio_server_identity.search.did
}

output "private_key_secret_version" {
  value = google_secret_manager_secret_version.search_key.name
}
