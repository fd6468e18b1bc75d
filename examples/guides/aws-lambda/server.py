import asyncio
import json
import os

import boto3
from capiscio_mcp import MCPServerIdentity

# Once per cold start: copy the secrets into the environment variables that
# MCPServerIdentity.from_env() reads. The function's configuration holds only
# the secrets' ARNs.
_secrets = boto3.client("secretsmanager")
for env_name, arn_name in (
    ("CAPISCIO_SERVER_PRIVATE_KEY_PEM", "CAPISCIO_SERVER_KEY_SECRET_ARN"),
    ("CAPISCIO_API_KEY", "CAPISCIO_API_KEY_SECRET_ARN"),
):
    if env_name not in os.environ:
        os.environ[env_name] = _secrets.get_secret_value(
            SecretId=os.environ[arn_name]
        )["SecretString"]


async def _handle(event):
    # Reads CAPISCIO_SERVER_ID, CAPISCIO_SERVER_URL, CAPISCIO_SERVER_DOMAIN,
    # CAPISCIO_API_KEY and CAPISCIO_SERVER_PRIVATE_KEY_PEM.
    identity = await MCPServerIdentity.from_env()
    return {
        "statusCode": 200,
        "body": json.dumps(
            {
                "server_did": identity.did,
                "badge_valid": identity.badge is not None,
            }
        ),
    }


def handler(event, context):
    return asyncio.run(_handle(event))
