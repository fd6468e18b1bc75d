# badge_claims does NOT verify the signature: use it to read exp/sub/jti,
# never to trust a badge. The common use is reading a fresh badge that the
# capiscio_server_badge ephemeral resource got from the registry.
ephemeral "capiscio_server_badge" "search" {
  server_id = capiscio_server_identity.search.id
  domain    = "search.mcp.example.com"
}

locals {
  badge = provider::capiscio::badge_claims(ephemeral.capiscio_server_badge.search.badge)
}

# A badge is ephemeral and sensitive, and so is what is read from it: use it
# in checks, provider blocks, provisioners and write-only arguments.
check "badge_names_the_server" {
  assert {
    condition     = local.badge.sub == capiscio_server_identity.search.did
    error_message = "The registry's badge names another subject than the server's did:web."
  }
}

# Anything else: jsondecode() the header or the claims.
check "badge_domain" {
  assert {
    condition     = jsondecode(local.badge.claims).vc.credentialSubject.domain == "search.mcp.example.com"
    error_message = "The badge is not for search.mcp.example.com."
  }
}
