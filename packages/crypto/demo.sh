#!/usr/bin/env bash
# Interim main job (until the worker lands): the attune-crypto CLI end to end. Values travel over stdin only.
set -euo pipefail
cli=(node "$(dirname "$0")/dist/bin.js")
if [ -z "${ATTUNE__SECURITY__ENCRYPTION_KEY:-}" ]; then
  ATTUNE__SECURITY__ENCRYPTION_KEY="$("${cli[@]}" keygen)"
  export ATTUNE__SECURITY__ENCRYPTION_KEY
  echo "generated a throw-away key (attune-crypto keygen)"
fi
echo "key hash:          $("${cli[@]}" hash)"
seed=$(printf '%s' 'sk_live_abc123' | "${cli[@]}" encrypt)
echo "seed format:       $seed"
v1=$(printf '%s' 'sk_live_abc123' | "${cli[@]}" encrypt --context mypack.api_key)
echo "v1, bound to ref:  $v1"
echo "decrypted (seed):  $(printf '%s' "$seed" | "${cli[@]}" decrypt)"
echo "decrypted (v1):    $(printf '%s' "$v1" | "${cli[@]}" decrypt --context mypack.api_key)"
if printf '%s' "$v1" | "${cli[@]}" decrypt --context otherpack.api_key 2>/dev/null; then
  echo "ERROR: a v1 value decrypted under another ref" >&2
  exit 1
fi
echo "v1 under another ref: refused (ATTUNE_CRYPTO_AUTHENTICATION_FAILED), as it must be"
