# The API key is best given through the CAPISCIO_API_KEY environment variable,
# or from a sensitive variable as here.
variable "capiscio_api_key" {
  type      = string
  sensitive = true
}

provider "capiscio" {
  registry_url    = "https://registry.capisc.io" # or CAPISCIO_REGISTRY_URL
  api_key         = var.capiscio_api_key         # or CAPISCIO_API_KEY
  request_timeout = "30s"
  max_retries     = 4
}
