"""Secrets from a file: ATTUNE_SECRETS_FILE names a JSON object (env var name → value), mode 0400, this action's
own, in its scratch folder, removed when the execution ends. No SECRET_* variable exists in the environment."""
import json
import os
import sys

params = json.load(sys.stdin)
with open(os.environ["ATTUNE_SECRETS_FILE"]) as f:
    secrets = json.load(f)
api_key = secrets["SECRET_API_KEY"]
print(f"api key present ({len(api_key)} characters); secrets in the file: {sorted(secrets)}")
print(f"SECRET_ variables in the environment: {sorted(k for k in os.environ if k.startswith('SECRET_'))}")
