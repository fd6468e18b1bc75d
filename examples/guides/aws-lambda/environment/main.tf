# The simplest Lambda deployment: generate mode, with the whole runtime
# environment taken from the identity's env attribute. The private key is then
# in the Terraform state (of both resources) and in the function's
# configuration; see the Secrets Manager variant to keep it out of both.
terraform {
  required_version = ">= 1.11"
  required_providers {
    capiscio = {
      source = "capiscio/capiscio"
    }
    aws = {
      source = "hashicorp/aws"
    }
  }
}

variable "lambda_zip" {
  type    = string
  default = "build/search-mcp-server.zip"
}

variable "runtime_api_key" {
  description = "The CapiscIO API key the MCP server uses at run time."
  type        = string
  sensitive   = true
}

provider "capiscio" {}

provider "aws" {
  region = "eu-west-1"
}

resource "capiscio_server_identity" "search" {
  name = "search-mcp-server"
}

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

resource "aws_lambda_function" "search" {
  function_name    = "search-mcp-server"
  role             = aws_iam_role.search.arn
  runtime          = "python3.12"
  handler          = "server.handler"
  filename         = var.lambda_zip
  source_code_hash = filebase64sha256(var.lambda_zip)

  environment {
    # CAPISCIO_SERVER_ID, CAPISCIO_SERVER_URL, CAPISCIO_SERVER_PRIVATE_KEY_PEM
    # (one line, \n-escaped) and, when needed, CAPISCIO_SERVER_DOMAIN; plus the
    # API key, which env never contains.
    variables = merge(capiscio_server_identity.search.env, {
      CAPISCIO_API_KEY = var.runtime_api_key
    })
  }
}
