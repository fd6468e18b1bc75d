# badge_claims does NOT verify the signature: use it to read exp/sub/jti at
# plan time, never to trust a badge.
locals {
  badge = provider::capiscio::badge_claims(capiscio_server_identity.search.badge)
}

# The badge of a capiscio_server_identity is sensitive, and so is the result:
# nonsensitive() shows a claim that is not secret.
output "badge_subject" {
  value = nonsensitive(local.badge.sub) # the server's did:web
}

output "badge_expires_at" {
  value = timeadd("1970-01-01T00:00:00Z", "${nonsensitive(local.badge.exp)}s")
}

# Anything else: jsondecode() the header or the claims.
output "badge_signing_key_id" {
  value = jsondecode(nonsensitive(local.badge.header)).kid
}

output "badge_domain" {
  value = jsondecode(nonsensitive(local.badge.claims)).vc.credentialSubject.domain
}
