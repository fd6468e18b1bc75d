terraform {
  required_providers {
    capiscio = { source = "capiscio/capiscio" }
  }
}

# registry_url and api_key from CAPISCIO_REGISTRY_URL and CAPISCIO_API_KEY.
provider "capiscio" {}

resource "capiscio_server_identity" "weather" {
  name = "weather-mcp"
}

# Terraform evaluates the check at the end of every plan and apply. A failed
# assertion is a warning: it never stops a run, it tells.
check "weather_identity_published" {
  # A data source inside the check: when it cannot be read, that is a
  # warning of the check too, not an error of the run.
  data "capiscio_server_identity" "live" {
    server_id = capiscio_server_identity.weather.server_id
  }

  assert {
    condition     = data.capiscio_server_identity.live.status == "active"
    error_message = "Server record ${capiscio_server_identity.weather.server_id} is ${data.capiscio_server_identity.live.status}: it gets no badges and verifiers reject it."
  }

  assert {
    condition     = data.capiscio_server_identity.live.did_document_did_key == provider::capiscio::did_key(capiscio_server_identity.weather.public_key_pem)
    error_message = "The DID document of ${capiscio_server_identity.weather.did} publishes ${coalesce(data.capiscio_server_identity.live.did_document_did_key, "no key")}, not this identity's key: terraform apply registers it again."
  }

  assert {
    condition     = data.capiscio_server_identity.live.did_document_serves_registered_key
    error_message = "The DID document at ${data.capiscio_server_identity.live.did_document_url} does not publish the key the registry holds for the record."
  }
}
