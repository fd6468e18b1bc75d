terraform {
  required_providers {
    capiscio = { source = "capiscio/capiscio" }
  }
}

provider "capiscio" {
  # Registries rate-limit; 429 replies are retried after their Retry-After.
  max_retries     = 6
  request_timeout = "30s"
}

# One entry per MCP server of the fleet, e.g. loaded from a YAML file.
variable "servers" {
  type = map(object({
    team = string
  }))
}

resource "capiscio_server_identity" "fleet" {
  for_each = var.servers

  name = each.key

  # The runtime SDK requests its own badge when the server starts, so a fleet
  # can skip the first badge: one registry call less per identity.
  issue_badge = false

  rotate_after = "90d"
}

output "dids" {
  value = { for k, v in capiscio_server_identity.fleet : k => v.did }
}
