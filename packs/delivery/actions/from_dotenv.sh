#!/bin/sh
# Secrets from a dotenv file: one SECRET_NAME='value' line per secret, quoted for POSIX sh.
cat >/dev/null
set -a
. "$ATTUNE_SECRETS_FILE"
set +a
echo "api key present (${#SECRET_API_KEY} characters)"
