# An MCP server on Cloud Run whose key lives in Google Secret Manager. The key is
# generated during the apply, registered with CapiscIO and added as a secret
# version; it is never stored in a Terraform plan or state. Cloud Run mounts it
# as CAPISCIO_SERVER_PRIVATE_KEY_PEM.
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

variable "region" {
  type    = string
  default = "europe-west1"
}

variable "image" {
  description = "Container image of the MCP server, e.g. europe-west1-docker.pkg.dev/my-project/mcp/search:1.0"
  type        = string
}

# The CapiscIO API key the MCP server uses at run time. Ephemeral: give it with
# TF_VAR_runtime_api_key on every plan and apply; a new secret version is added
# only when runtime_api_key_version changes.
variable "runtime_api_key" {
  type      = string
  sensitive = true
  ephemeral = true
}

variable "runtime_api_key_version" {
  description = "Bump to store a new runtime_api_key."
  type        = number
  default     = 1
}

provider "capiscio" {}

provider "google" {
  project = var.project_id
  region  = var.region
}

# ---- Identity and key -------------------------------------------------------

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

  # Same ephemeral key, same apply; a new version whenever the identity gets a new key.
  secret_data_wo         = ephemeral.capiscio_server_key.search.private_key_pem_env
  secret_data_wo_version = capiscio_server_identity.search.key_serial

  lifecycle {
    create_before_destroy = true
  }
}

resource "google_secret_manager_secret" "api_key" {
  secret_id = "search-mcp-server-capiscio-api-key"

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "api_key" {
  secret                 = google_secret_manager_secret.api_key.id
  secret_data_wo         = var.runtime_api_key
  secret_data_wo_version = var.runtime_api_key_version

  lifecycle {
    create_before_destroy = true
  }
}

# ---- Service ------------------------------------------------------------------

resource "google_service_account" "search" {
  account_id   = "search-mcp-server"
  display_name = "search MCP server"
}

resource "google_secret_manager_secret_iam_member" "search" {
  for_each = {
    private_key = google_secret_manager_secret.search_key.id
    api_key     = google_secret_manager_secret.api_key.id
  }

  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.search.email}"
}

resource "google_cloud_run_v2_service" "search" {
  name     = "search-mcp-server"
  location = var.region

  template {
    service_account = google_service_account.search.email

    containers {
      image = var.image

      env {
        name  = "CAPISCIO_SERVER_ID"
        value = capiscio_server_identity.search.server_id
      }
      env {
        name  = "CAPISCIO_SERVER_URL"
        value = capiscio_server_identity.search.registry_url
      }
      # Only when domain is set: unset, domain is null and the SDK derives the
      # same default from CAPISCIO_SERVER_URL.
      dynamic "env" {
        for_each = capiscio_server_identity.search.domain == null ? [] : [capiscio_server_identity.search.domain]
        content {
          name  = "CAPISCIO_SERVER_DOMAIN"
          value = env.value
        }
      }

      env {
        name = "CAPISCIO_API_KEY"
        value_source {
          secret_key_ref {
            secret  = google_secret_manager_secret.api_key.secret_id
            version = google_secret_manager_secret_version.api_key.version
          }
        }
      }

      # Pinned to the version holding the current key: a new key changes the
      # revision template, so Cloud Run rolls out a revision that reads it.
      env {
        name = "CAPISCIO_SERVER_PRIVATE_KEY_PEM"
        value_source {
          secret_key_ref {
            secret  = google_secret_manager_secret.search_key.secret_id
            version = google_secret_manager_secret_version.search_key.version
          }
        }
      }
    }
  }

  depends_on = [google_secret_manager_secret_iam_member.search]
}

output "did" {
  value = capiscio_server_identity.search.did
}

output "service_uri" {
  value = google_cloud_run_v2_service.search.uri
}
