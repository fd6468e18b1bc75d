# An incident-response root module: the four actions and nothing else. It has
# no resources, so -invoke refreshes nothing and never touches the state of
# the configuration that deploys your MCP servers (nor needs its lock), and
# that configuration keeps working with OpenTofu and Terraform < 1.14, which
# reject action blocks. Requires Terraform >= 1.14.
#
#   terraform apply -invoke=action.capiscio_server_disable.compromised -var server_id=ID
#   terraform apply -invoke=action.capiscio_badge_revoke.leaked -var badge_jti=JTI
#   terraform apply -invoke=action.capiscio_server_verify.current -var server_id=ID -var public_key_pem="$(cat key.pub.pem)"
#   terraform apply -invoke=action.capiscio_server_enable.recovered -var server_id=ID
terraform {
  required_version = ">= 1.14"
  required_providers {
    capiscio = {
      source = "capiscio/capiscio"
    }
  }
}

# registry_url and api_key from CAPISCIO_REGISTRY_URL and CAPISCIO_API_KEY.
provider "capiscio" {}

variable "server_id" {
  type        = string
  description = "id of the server record (capiscio_server_identity.NAME.id, or the CapiscIO dashboard)"
  default     = null
}

variable "badge_jti" {
  type        = string
  description = "jti of a leaked badge: provider::capiscio::badge_claims(token).jti"
  default     = null
}

variable "public_key_pem" {
  type        = string
  description = "the public key the server was deployed with, for verify"
  default     = null
}

action "capiscio_server_disable" "compromised" {
  config {
    server_id = var.server_id
  }
}

action "capiscio_badge_revoke" "leaked" {
  config {
    jti    = var.badge_jti
    reason = "leaked"
  }
}

action "capiscio_server_verify" "current" {
  config {
    server_id      = var.server_id
    public_key_pem = var.public_key_pem
  }
}

action "capiscio_server_enable" "recovered" {
  config {
    server_id = var.server_id
  }
}
