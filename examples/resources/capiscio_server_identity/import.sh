# Import an existing server record by its id (a UUID). Only the public side is
# imported: private_key_pem stays null until the identity is rotated with
# terraform apply -replace=capiscio_server_identity.billing
terraform import capiscio_server_identity.billing 550e8400-e29b-41d4-a716-446655440000
