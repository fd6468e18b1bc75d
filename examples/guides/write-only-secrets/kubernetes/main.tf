# Write-only custody with a Kubernetes Secret: the private key is generated
# during the apply, registered, and written to the Secret, and is never stored
# in a Terraform plan or state.
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

# Opened in the plan and again in the apply, with a new key each time. Only the
# apply's key is used, and only by resources whose version changes in that apply.
ephemeral "capiscio_server_key" "search" {}

resource "capiscio_server_identity" "search" {
  name = "search-mcp-server"

  private_key_wo         = ephemeral.capiscio_server_key.search.private_key_pem
  private_key_wo_version = 1 # bump to rotate
}

resource "kubernetes_secret_v1" "search_key" {
  metadata {
    name      = "search-mcp-server-identity"
    namespace = "mcp"
  }

  type = "Opaque"

  # The same ephemeral key, in the same apply. key_serial changes exactly when
  # the identity gets a new key, so the Secret is written then and only then.
  data_wo = {
    "server-private-key" = ephemeral.capiscio_server_key.search.private_key_pem_env
  }
  data_wo_revision = capiscio_server_identity.search.key_serial
}

output "did" {
  value = capiscio_server_identity.search.did
}
