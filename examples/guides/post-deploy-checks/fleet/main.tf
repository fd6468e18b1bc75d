terraform {
  required_providers {
    capiscio = { source = "capiscio/capiscio" }
  }
}

provider "capiscio" {}

variable "servers" {
  type = set(string)
}

resource "capiscio_server_identity" "fleet" {
  for_each = var.servers

  name        = each.key
  issue_badge = false
}

# Top-level: a data block inside a check cannot use for_each. A no-change plan
# plans no read, but a lookup that fails stops the run.
data "capiscio_server_identity" "fleet" {
  for_each = capiscio_server_identity.fleet

  server_id = each.value.server_id
}

locals {
  # Servers whose record is not active, or whose DID document does not
  # publish the identity's key.
  unpublished = [
    for name, live in data.capiscio_server_identity.fleet : name
    if !(live.status == "active" && live.did_document_did_key == provider::capiscio::did_key(capiscio_server_identity.fleet[name].public_key_pem))
  ]
}

check "fleet_published" {
  assert {
    condition     = length(local.unpublished) == 0
    error_message = "Not active, or not publishing the identity's key: ${join(", ", local.unpublished)}."
  }
}
