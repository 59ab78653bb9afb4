/** Help of `attune` and of each command (docs/cli.md is the reference). */
export const HELP: Record<string, string> = {
  main: `Usage: attune <command> [options]      (attune <command> --help for details)

Commands:
  key set|get|list|delete   manage secrets (values from stdin or a prompt, never argv) and their versions
  keyring status|rotate|…   master keys and data keys: status, rotations, upgrade, destruction
  audit list|verify|hash    the audit log: who did what to which secret; is it intact; was this string a value
  pack register <folder>    register or update a pack
  run <action>              request an execution (--wait to wait for it)
  token create|list|revoke  API tokens
  login / logout            keep (or remove) the API token remote mode uses (ATTUNE_API_URL)
  db migrate                apply database migrations
  worker                    start the worker service
  api                       start the HTTP API
  demo                      the end-to-end demo on the embedded database
  crypto …                  keygen, hash, encrypt, decrypt (attune-crypto)

Global options: --json (machine-readable output), --config FILE (else $ATTUNE_CONFIG)
Exit codes: 0 ok, 1 failed, 2 invalid input (usage, configuration, a name or value), 3 not found, 4 conflict,
5 refused (e.g. no encryption key)
`,
  key: `Usage:
  attune key set (--system | --pack PACK | --action ACTION) NAME [--ref REF] [--plain] [--value-json]
                 [--cas VERSION] [--max-versions N]
  attune key get REF [--version N] [--decrypt]
  attune key list [--owner-type system|pack|action] [--pack PACK] [--action ACTION] [--deleted] [--page N] [--per-page N]
  attune key delete REF [--purge]       (soft delete; --purge: the key and every version, for good)
  attune key undelete REF
  attune key versions REF               (metadata only)
  attune key rollback REF --to VERSION [--cas CURRENT]
  attune key destroy REF --versions N[,N…]
  attune key usage REF [--from DATE] [--to DATE]
                                        last use; actions and versions that used it (default: the last 30 days)
  attune key executions REF --version N [--limit N] [--before ID]
                                        every execution that received version N (incident response)
  attune key unused --days N            keys no execution received for N days

key set creates the key, or writes its next version if it exists. The value is read from stdin (one trailing newline
dropped) or, on a terminal, from a hidden prompt. Keys are encrypted unless --plain. --value-json parses the value
as JSON (objects, arrays, numbers, booleans). --cas N writes only if the key is at version N (else exit 4).
rollback makes an old version's value current again, as a new version, without showing it. destroy erases the
values of old versions for good (their metadata stays). Reference: docs/secrets-management.md#versions.

Examples:
  printf '%s' 'sk_live_abc123' | attune key set --pack mypack api_key
  attune key get mypack.api_key --decrypt --json
  attune key rollback mypack.api_key --to 3
  attune key executions mypack.api_key --version 2
`,
  audit: `Usage:
  attune audit list [--ref REF] [--actor NAME] [--action ACTION] [--from DATE] [--to DATE] [--limit N] [--before ID]
                                        events, newest first (never a value)
  attune audit verify                   recompute the hash chain; exit 1 and name the first event changed, removed or
                                        inserted
  attune audit hash                     was the string on stdin ever a stored value, and when (needs audit.hmac_key)
  attune audit prune --before DATE --yes
                                        delete older events for good; the prune is recorded

Reference: docs/audit.md. Examples:
  attune audit list --ref mypack.api_key
  printf '%s' 'the-leaked-string' | attune audit hash
`,
  keyring: `Usage:
  attune keyring status                 what each master key protects
  attune keyring rotate                 rewrap every data key under the active master key (security.active_key)
  attune keyring rotate-data-key (--system | --pack PACK | --action ACTION)
                                        a new data key for one owner; its values re-encrypted (online, resumable)
  attune keyring upgrade                values encrypted directly with a master key moved under data keys
  attune keyring destroy-data-key ID --yes
                                        crypto-shredding: the values that data key encrypts are unreadable for good

Runbook: docs/secrets-management.md#rotating-the-encryption-key.
`,
  pack: `Usage: attune pack register FOLDER

Validates pack.yaml and actions/*.yaml, then registers the pack and its actions in one transaction; reports what
changed. Example: attune pack register packs/examples
`,
  run: `Usage: attune run ACTION [--params JSON] [--wait] [--timeout SECONDS]

Creates the execution and publishes it to the workers through RabbitMQ; prints {id, action_ref, status}. With
--wait, prints the execution once it ends — each secret it received (ref, level, version, key, what it overrode),
the masked output and the warnings; with --json in the API's shape — and exits 0 only if it succeeded (default wait
600 s). Example: attune run examples.check --params '{"host":"db1"}' --wait
`,
  token: `Usage:
  attune token create NAME --scopes SCOPE[,SCOPE…]   (keys:read, keys:decrypt, keys:write, executions:run,
                                                     audit:read, admin)
  attune token list
  attune token revoke NAME

The token is printed once, at creation; only its hash is stored. Example: attune token create ci --scopes keys:read
`,
  login: `Usage: printf '%s' "$TOKEN" | attune login      (or: attune login, at the hidden prompt)

With ATTUNE_API_URL set, checks the token against the API and keeps it in $XDG_CONFIG_HOME/attune/token
(~/.config/attune/token), readable by you only; remote mode uses it when ATTUNE_TOKEN is not set. Never from argv.
`,
  logout: `Usage: attune logout

Removes the token attune login kept.
`,
  db: `Usage: attune db migrate

Applies pending migrations to DATABASE_URL, or to the embedded database when it is not set.
`,
  worker: `Usage: attune worker

Starts the worker service (see docs/deployment.md). SIGTERM/SIGINT drains it and exits 0.
`,
  api: `Usage: attune api

Starts the HTTP API on api.host:api.port (default 127.0.0.1:8080). Reference: docs/api.md.
`,
  demo: `Usage: attune demo

Runs the end-to-end demo (pnpm demo).
`,
};
