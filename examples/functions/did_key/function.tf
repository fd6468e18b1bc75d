# The did:key of a key generated outside Terraform (KMS, HSM, the CapiscIO
# CLI), known at plan time. The RFC 8032 test key gives
# did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw.
output "did_key" {
  value = provider::capiscio::did_key(<<-EOT
    -----BEGIN PUBLIC KEY-----
    MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=
    -----END PUBLIC KEY-----
    EOT
  )
}

# The same for a key file, e.g. to list it in an allow-list before the key is
# registered with external_public_key_pem.
output "hsm_did_key" {
  value = provider::capiscio::did_key(file("${path.module}/server.pub.pem"))
}
