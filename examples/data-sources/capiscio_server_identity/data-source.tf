# Look up an identity managed elsewhere (another workspace, the dashboard, the
# runtime SDK) by the id of its server record...
data "capiscio_server_identity" "billing" {
  server_id = "550e8400-e29b-41d4-a716-446655440000"
}

# ...or by the did:web DID the registry assigned to it.
data "capiscio_server_identity" "search" {
  did = "did:web:registry.capisc.io:servers:6ba7b810-9dad-11d1-80b4-00c04fd430c8"
}

# Pin the key a client should expect, and refuse a disabled record at plan time.
output "billing_did_key" {
  value = data.capiscio_server_identity.billing.did_key

  precondition {
    condition     = data.capiscio_server_identity.billing.status == "active"
    error_message = "The billing MCP server's record is disabled in the CapiscIO registry."
  }
}

# After every plan and apply, warn when verifiers resolving the DID would not
# get the key the registry holds (see the Post-deploy checks guide).
check "billing_published" {
  assert {
    condition     = data.capiscio_server_identity.billing.did_document_serves_registered_key
    error_message = "${data.capiscio_server_identity.billing.did_document_url} does not publish the registered key ${data.capiscio_server_identity.billing.did_key}."
  }
}
