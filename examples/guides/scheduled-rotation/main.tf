# Scheduled rotation: once the key is 90 days old, the next plan replaces the
# identity with a new key, writes that key to the Kubernetes Secret in the same
# apply, and restarts the Deployment that reads it.
terraform {
  required_version = ">= 1.11"
  required_providers {
    capiscio = {
      source = "capiscio/capiscio"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = ">= 2.36" # data_wo
    }
  }
}

provider "capiscio" {}

provider "kubernetes" {
  config_path = "~/.kube/config"
}

ephemeral "capiscio_server_key" "search" {}

resource "capiscio_server_identity" "search" {
  name = "search-mcp-server"

  private_key_wo         = ephemeral.capiscio_server_key.search.private_key_pem
  private_key_wo_version = 1

  # Measured from key_created_at. After that, the plan shows
  # "must be replaced" with a "Key Rotation Due" warning.
  rotate_after = "90d"
}

# Written whenever the identity gets a new key, for whatever reason:
# rotate_after, private_key_wo_version, or terraform apply -replace.
resource "kubernetes_secret_v1" "search_key" {
  metadata {
    name      = "search-mcp-server-identity"
    namespace = "mcp"
  }

  type = "Opaque"

  data_wo = {
    "server-private-key" = ephemeral.capiscio_server_key.search.private_key_pem_env
  }
  data_wo_revision = capiscio_server_identity.search.key_serial
}

# The Deployment itself is managed elsewhere (Helm, Argo CD, ...). Restart it
# whenever the identity gets a new key, so that its pods read it.
# replace_triggered_by fires because rotate_after plans a real replacement;
# key_serial (not the whole resource) ignores in-place changes such as a rename.
resource "terraform_data" "restart_search" {
  provisioner "local-exec" {
    command    = "kubectl --namespace mcp rollout restart deployment/search-mcp-server"
    on_failure = continue
  }

  depends_on = [kubernetes_secret_v1.search_key]

  lifecycle {
    replace_triggered_by = [capiscio_server_identity.search.key_serial]
  }
}

# True in state after a refresh once the key is older than rotate_after:
# terraform apply -refresh-only && terraform output ready_for_rotation
output "ready_for_rotation" {
  value = capiscio_server_identity.search.ready_for_rotation
}

output "key_created_at" {
  value = capiscio_server_identity.search.key_created_at
}
