# The public JWK of an identity's key, for a verifier that wants a JWK set.
output "search_jwks" {
  value = jsonencode({
    keys = [jsondecode(provider::capiscio::public_key_jwk(capiscio_server_identity.search.public_key_pem))]
  })
}

# The JWK's kid is the RFC 7638 thumbprint, which is also the identity's key_id.
output "kid_is_key_id" {
  value = jsondecode(provider::capiscio::public_key_jwk(capiscio_server_identity.search.public_key_pem)).kid == capiscio_server_identity.search.key_id
}
