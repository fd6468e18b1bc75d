# Revoke a leaked badge now (Terraform >= 1.14):
#
#   terraform apply -invoke=action.capiscio_badge_revoke.leaked -var badge_jti=JTI
#
# The jti is the badge's "jti" claim: provider::capiscio::badge_claims(token).jti
# decodes it from the token, without verifying it.
variable "badge_jti" {
  type        = string
  description = "jti of the leaked badge"
}

action "capiscio_badge_revoke" "leaked" {
  config {
    jti    = var.badge_jti
    reason = "badge leaked in a CI log"
  }
}
