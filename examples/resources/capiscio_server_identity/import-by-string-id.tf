# Any supported Terraform or OpenTofu version: import the server record by its
# id (a UUID).
import {
  to = capiscio_server_identity.billing
  id = "550e8400-e29b-41d4-a716-446655440000"
}

resource "capiscio_server_identity" "billing" {
  server_id = "550e8400-e29b-41d4-a716-446655440000"
}
