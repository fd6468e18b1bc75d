# A key made outside Terraform, in the one-line form with literal \n that
# CAPISCIO_SERVER_PRIVATE_KEY_PEM takes. The argument is sensitive, so the
# result is too: Terraform carries the mark through the function.
variable "server_private_key_pem" {
  type      = string
  sensitive = true
}

resource "aws_ssm_parameter" "server_key" {
  name  = "/mcp/search/CAPISCIO_SERVER_PRIVATE_KEY_PEM"
  type  = "SecureString"
  value = provider::capiscio::pem_env(var.server_private_key_pem)
}

output "server_key_env" {
  value     = provider::capiscio::pem_env(var.server_private_key_pem)
  sensitive = true # required: the value is sensitive
}
