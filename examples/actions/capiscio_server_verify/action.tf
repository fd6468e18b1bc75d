# Check the identity after every deployment of the MCP server. terraform_data
# stands for the resource that deploys it (a Kubernetes deployment, a Lambda
# function, a Cloud Run service).
resource "terraform_data" "deploy" {
  input = capiscio_server_identity.api.key_serial

  lifecycle {
    action_trigger {
      events  = [after_create, after_update]
      actions = [action.capiscio_server_verify.deployed]
      # halt (the default) fails the apply; taint fails it too and, after a
      # create, marks the new deployment for replacement; continue turns the
      # failure into a warning.
      on_failure = halt
    }
  }
}

# Also runs on demand, in a pipeline step:
#   terraform apply -auto-approve -invoke=action.capiscio_server_verify.deployed
action "capiscio_server_verify" "deployed" {
  config {
    server_id = capiscio_server_identity.api.id
    # The key the server was deployed with: verify fails when the record now
    # holds another one.
    public_key_pem = capiscio_server_identity.api.public_key_pem
  }
}
