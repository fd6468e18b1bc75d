# https://registry.capisc.io/servers/550e8400-e29b-41d4-a716-446655440000/did.json
output "document_url" {
  value = provider::capiscio::did_document_url("did:web:registry.capisc.io:servers:550e8400-e29b-41d4-a716-446655440000")
}

# http://localhost:8080/servers/<id>/did.json: a local registry (a port's
# colon is written %3A in the DID; localhost and 127.0.0.1 use http).
output "local_document_url" {
  value = provider::capiscio::did_document_url("did:web:localhost%3A8080:servers:550e8400-e29b-41d4-a716-446655440000")
}

# Where verifiers will fetch the DID document of a managed identity.
output "search_document_url" {
  value = provider::capiscio::did_document_url(capiscio_server_identity.search.did)
}
