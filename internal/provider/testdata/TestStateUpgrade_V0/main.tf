terraform {
  required_providers {
    capiscio = { source = "capiscio/capiscio" }
  }
}
provider "capiscio" {
  registry_url = "http://127.0.0.1:18080"
  api_key      = "sk_test_upgradefixture0000000000"
}
resource "capiscio_server_identity" "generated" {
  name              = "upgrade-fixture-generated"
  rotate_after      = "90d"
  rotation_triggers = { v = "1" }
}
resource "capiscio_server_identity" "external" {
  name                    = "upgrade-fixture-external"
  external_public_key_pem = file("${path.module}/ext.pub.pem")
  issue_badge             = false
}
ephemeral "capiscio_server_key" "wo" {}
resource "capiscio_server_identity" "write_only" {
  name                   = "upgrade-fixture-write-only"
  private_key_wo         = ephemeral.capiscio_server_key.wo.private_key_pem
  private_key_wo_version = 1
}
