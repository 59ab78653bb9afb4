#!/bin/sh
# Secrets from a dotenv file: one SECRET_NAME='value' line per secret, quoted for POSIX sh.
cat >/dev/null
# Sourced without `set -a`: shell variables, not exported, so the commands this script runs do not receive them.
. "$ATTUNE_SECRETS_FILE"
echo "api key present (${#SECRET_API_KEY} characters)"
