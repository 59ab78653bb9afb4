"""Example Python action: reads its parameters from stdin and its secrets from SECRET_* env vars."""
import base64
import json
import os
import sys

params = json.load(sys.stdin)

# The seed's usage example, as written:
api_key = os.environ.get('SECRET_API_KEY')
print(f"Using API key: {api_key[:8]}...", file=sys.stderr)

db_password = os.environ.get("SECRET_DB_PASSWORD")
# A careless action: these lines would leak the secret without the worker's masking.
print(f"debug: connecting with password {db_password}", file=sys.stderr)
print(f"debug: auth header {base64.b64encode(db_password.encode()).decode()}", file=sys.stderr)

json.dump(
    {
        "target": params["target"],
        "api_key_seen": api_key is not None,
        "secrets_in_env": sorted(k for k in os.environ if k.startswith("SECRET_")),
        "echo": {"password": db_password},
    },
    sys.stdout,
)
