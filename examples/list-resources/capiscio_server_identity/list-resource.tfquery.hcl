# Every server record of the organisation (the provider's API key), made by
# Terraform or not: run `terraform query`, or
# `terraform query -generate-config-out=generated.tf` to write an import
# block and a resource block for each record.
list "capiscio_server_identity" "all" {
  provider = capiscio
}

# Active records whose name starts with "payments-", with the attributes an
# import would give them; at most 500 results.
list "capiscio_server_identity" "payments" {
  provider         = capiscio
  include_resource = true
  limit            = 500

  config {
    name_prefix = "payments-"
    status      = "active"
  }
}
