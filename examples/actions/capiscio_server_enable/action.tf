# Enable the record again once the incident is over (Terraform >= 1.14):
#
#   terraform apply -invoke=action.capiscio_server_enable.recovered
action "capiscio_server_enable" "recovered" {
  config {
    server_id = capiscio_server_identity.api.id
  }
}
