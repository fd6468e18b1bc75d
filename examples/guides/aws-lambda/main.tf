# An MCP server on AWS Lambda whose key lives in AWS Secrets Manager. The key is
# generated during the apply, registered with CapiscIO and written to Secrets
# Manager; it is never stored in a Terraform plan or state, nor in the
# function's configuration. The function reads it once per cold start
# (server.py).
terraform {
  required_version = ">= 1.11"
  required_providers {
    capiscio = {
      source = "capiscio/capiscio"
    }
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.88" # secret_string_wo
    }
  }
}

variable "region" {
  type    = string
  default = "eu-west-1"
}

variable "lambda_zip" {
  description = "Deployment package holding server.py and its dependencies (capiscio-mcp, boto3)."
  type        = string
  default     = "build/search-mcp-server.zip"
}

# The CapiscIO API key the MCP server uses at run time. Ephemeral: give it with
# TF_VAR_runtime_api_key on every plan and apply; it is written to Secrets
# Manager only when runtime_api_key_version changes.
variable "runtime_api_key" {
  type      = string
  sensitive = true
  ephemeral = true
}

variable "runtime_api_key_version" {
  description = "Bump to store a new runtime_api_key."
  type        = number
  default     = 1
}

provider "capiscio" {}

provider "aws" {
  region = var.region
}

# ---- Identity and key -------------------------------------------------------

ephemeral "capiscio_server_key" "search" {}

resource "capiscio_server_identity" "search" {
  name = "search-mcp-server"

  private_key_wo         = ephemeral.capiscio_server_key.search.private_key_pem
  private_key_wo_version = 1 # bump to rotate
}

resource "aws_secretsmanager_secret" "search_key" {
  name        = "mcp/search-mcp-server/private-key"
  description = "CAPISCIO_SERVER_PRIVATE_KEY_PEM of the search MCP server"
}

resource "aws_secretsmanager_secret_version" "search_key" {
  secret_id = aws_secretsmanager_secret.search_key.id

  # Same ephemeral key, same apply; written whenever the identity gets a new key.
  secret_string_wo         = ephemeral.capiscio_server_key.search.private_key_pem_env
  secret_string_wo_version = capiscio_server_identity.search.key_serial
}

resource "aws_secretsmanager_secret" "api_key" {
  name        = "mcp/search-mcp-server/capiscio-api-key"
  description = "CAPISCIO_API_KEY of the search MCP server"
}

resource "aws_secretsmanager_secret_version" "api_key" {
  secret_id                = aws_secretsmanager_secret.api_key.id
  secret_string_wo         = var.runtime_api_key
  secret_string_wo_version = var.runtime_api_key_version
}

# ---- Function -----------------------------------------------------------------

data "aws_iam_policy_document" "assume_lambda" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "search" {
  name               = "search-mcp-server"
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
}

resource "aws_iam_role_policy_attachment" "search_logs" {
  role       = aws_iam_role.search.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}

data "aws_iam_policy_document" "read_secrets" {
  statement {
    actions = ["secretsmanager:GetSecretValue"]
    resources = [
      aws_secretsmanager_secret.search_key.arn,
      aws_secretsmanager_secret.api_key.arn,
    ]
  }
}

resource "aws_iam_role_policy" "read_secrets" {
  name   = "read-capiscio-secrets"
  role   = aws_iam_role.search.id
  policy = data.aws_iam_policy_document.read_secrets.json
}

# CAPISCIO_SERVER_DOMAIN only when the identity's domain is set: unset, domain
# is null and the SDK derives the same default from CAPISCIO_SERVER_URL.
locals {
  search_domain_env = capiscio_server_identity.search.domain == null ? {} : {
    CAPISCIO_SERVER_DOMAIN = capiscio_server_identity.search.domain
  }
}

resource "aws_lambda_function" "search" {
  function_name    = "search-mcp-server"
  role             = aws_iam_role.search.arn
  runtime          = "python3.12"
  handler          = "server.handler"
  filename         = var.lambda_zip
  source_code_hash = filebase64sha256(var.lambda_zip)
  timeout          = 30

  environment {
    variables = merge(local.search_domain_env, {
      CAPISCIO_SERVER_ID  = capiscio_server_identity.search.server_id
      CAPISCIO_SERVER_URL = capiscio_server_identity.search.registry_url

      # Read by server.py at cold start, which sets CAPISCIO_SERVER_PRIVATE_KEY_PEM
      # and CAPISCIO_API_KEY from them.
      CAPISCIO_SERVER_KEY_SECRET_ARN = aws_secretsmanager_secret.search_key.arn
      CAPISCIO_API_KEY_SECRET_ARN    = aws_secretsmanager_secret.api_key.arn

      # Not read by anything: a new key or API key changes the function's
      # configuration, so new execution environments start and read the new secret.
      IDENTITY_KEY_SERIAL = capiscio_server_identity.search.key_serial
      API_KEY_VERSION     = var.runtime_api_key_version
    })
  }

  depends_on = [
    aws_iam_role_policy.read_secrets,
    aws_iam_role_policy_attachment.search_logs,
    aws_secretsmanager_secret_version.search_key,
    aws_secretsmanager_secret_version.api_key,
  ]
}

output "did" {
  value = capiscio_server_identity.search.did
}

output "function_name" {
  value = aws_lambda_function.search.function_name
}
