# Terraform and OpenTofu >= 1.12: import the server record by its resource
# identity. Only the public side is imported; rotate with
# terraform apply -replace=capiscio_server_identity.billing to have Terraform
# hold a key for it.
import {
  to = capiscio_server_identity.billing
  identity = {
    server_id = "550e8400-e29b-41d4-a716-446655440000"
  }
}

resource "capiscio_server_identity" "billing" {
  server_id = "550e8400-e29b-41d4-a716-446655440000"
}
