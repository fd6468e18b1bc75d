# An MCP server on Kubernetes whose key lives in a Secret. The key is generated
# during the apply, registered with CapiscIO and written to the Secret; it is
# never stored in a Terraform plan or state. The Deployment reads it as
# CAPISCIO_SERVER_PRIVATE_KEY_PEM.
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

variable "image" {
  description = "Container image of the MCP server."
  type        = string
  default     = "my-registry/mcp-server:latest"
}

# The CapiscIO API key the MCP server uses at run time. Ephemeral: give it with
# TF_VAR_runtime_api_key on every plan and apply; it is written to the Secret
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

provider "kubernetes" {
  config_path = "~/.kube/config"
}

resource "kubernetes_namespace_v1" "mcp" {
  metadata {
    name = "mcp"
  }
}

# ---- Identity and key -------------------------------------------------------

ephemeral "capiscio_server_key" "mcp_server" {}

resource "capiscio_server_identity" "mcp_server" {
  name = "mcp-server"

  private_key_wo         = ephemeral.capiscio_server_key.mcp_server.private_key_pem
  private_key_wo_version = 1 # bump to rotate
}

resource "kubernetes_secret_v1" "server_key" {
  metadata {
    name      = "mcp-server-identity"
    namespace = kubernetes_namespace_v1.mcp.metadata[0].name
  }

  type = "Opaque"

  # Same ephemeral key, same apply; written whenever the identity gets a new key.
  data_wo = {
    "server-private-key" = ephemeral.capiscio_server_key.mcp_server.private_key_pem_env
  }
  data_wo_revision = capiscio_server_identity.mcp_server.key_serial
}

resource "kubernetes_secret_v1" "api_key" {
  metadata {
    name      = "capiscio-api-key"
    namespace = kubernetes_namespace_v1.mcp.metadata[0].name
  }

  type = "Opaque"

  data_wo = {
    "api-key" = var.runtime_api_key
  }
  data_wo_revision = var.runtime_api_key_version
}

# ---- Deployment -----------------------------------------------------------------

resource "kubernetes_deployment_v1" "mcp_server" {
  metadata {
    name      = "mcp-server"
    namespace = kubernetes_namespace_v1.mcp.metadata[0].name
    labels = {
      app = "mcp-server"
    }
  }

  spec {
    replicas = 2

    selector {
      match_labels = {
        app = "mcp-server"
      }
    }

    template {
      metadata {
        labels = {
          app = "mcp-server"
        }
        # Environment variables from Secrets are read when a container starts.
        # These values change with a new key or API key, which rolls the pods.
        annotations = {
          "capisc.io/key-serial"      = tostring(capiscio_server_identity.mcp_server.key_serial)
          "capisc.io/api-key-version" = tostring(var.runtime_api_key_version)
        }
      }

      spec {
        container {
          name  = "mcp-server"
          image = var.image

          env {
            name  = "CAPISCIO_SERVER_ID"
            value = capiscio_server_identity.mcp_server.server_id
          }
          env {
            name  = "CAPISCIO_SERVER_URL"
            value = capiscio_server_identity.mcp_server.registry_url
          }
          # Only when domain is set: unset, domain is null and the SDK derives the
          # same default from CAPISCIO_SERVER_URL.
          dynamic "env" {
            for_each = capiscio_server_identity.mcp_server.domain == null ? [] : [capiscio_server_identity.mcp_server.domain]
            content {
              name  = "CAPISCIO_SERVER_DOMAIN"
              value = env.value
            }
          }

          env {
            name = "CAPISCIO_API_KEY"
            value_from {
              secret_key_ref {
                name = kubernetes_secret_v1.api_key.metadata[0].name
                key  = "api-key"
              }
            }
          }

          env {
            name = "CAPISCIO_SERVER_PRIVATE_KEY_PEM"
            value_from {
              secret_key_ref {
                name = kubernetes_secret_v1.server_key.metadata[0].name
                key  = "server-private-key"
              }
            }
          }
        }
      }
    }
  }
}

output "did" {
  value = capiscio_server_identity.mcp_server.did
}
