# A key that never reaches plan or state. The same apply registers it
# (private_key_wo) and stores it (secret_string_wo); key_serial versions the
# secret, so both writes happen in the same apply and only when the key changes.
ephemeral "capiscio_server_key" "search" {}

resource "capiscio_server_identity" "search" {
  name                   = "search-mcp-server"
  private_key_wo         = ephemeral.capiscio_server_key.search.private_key_pem
  private_key_wo_version = 1 # bump to rotate
}

resource "aws_secretsmanager_secret_version" "search_key" {
  secret_id                = aws_secretsmanager_secret.search_key.id
  secret_string_wo         = ephemeral.capiscio_server_key.search.private_key_pem_env
  secret_string_wo_version = capiscio_server_identity.search.key_serial
}

resource "aws_secretsmanager_secret" "search_key" {
  name = "mcp/search-mcp-server/private-key"
}
