#!/bin/sh
# Example shell action: parameters arrive as JSON on stdin, secrets as SECRET_* env vars.
params=$(cat)
echo "parameters: $params"
echo "running as action $ATTUNE_ACTION (execution $ATTUNE_EXECUTION_ID, pack $ATTUNE_PACK)"
echo "as uid $(id -u), in $PWD (this execution's scratch folder, removed when it ends)"
if [ -n "${SECRET_API_KEY:-}" ]; then echo "api key present (${#SECRET_API_KEY} characters)"; fi
echo "db password is $SECRET_DB_PASSWORD"
echo "region is $SECRET_REGION"
env | grep -c '^SECRET_' | sed 's/^/secret variables: /'
