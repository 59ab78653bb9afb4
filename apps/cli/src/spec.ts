/**
 * The one definition of `attune`'s commands: names, arguments, options and help. The parser (`parser.ts`, built on
 * commander), `--help` and shell completion (`completion.ts`) all come from it. docs/cli.md is the reference.
 */

/** An option: commander's flags syntax (`--pack <pack>` takes a value, `--plain` is a switch). */
export interface OptionSpec {
  readonly flags: string;
  readonly description: string;
}

/** A command or a subcommand. The handler of a command receives `[subcommand, ...arguments]` as positionals. */
export interface CommandSpec {
  readonly name: string;
  /** Arguments in commander's syntax: `<ref>` required, `[folder]` optional. */
  readonly args?: readonly string[];
  readonly summary: string;
  readonly options?: readonly OptionSpec[];
  /** Text shown after the generated help: what the command does in detail, examples. */
  readonly help?: string;
  readonly subcommands?: readonly CommandSpec[];
  /** Extra arguments reach the handler, which explains them (e.g. a value given in argv: never). */
  readonly excessArgs?: boolean;
  /** Completion offers files for this command's arguments (e.g. a pack folder). */
  readonly completeFiles?: boolean;
}

const OWNER: readonly OptionSpec[] = [
  { flags: '--system', description: 'owned by the system' },
  { flags: '--pack <pack>', description: 'owned by the pack (ref or id)' },
  { flags: '--action <action>', description: 'owned by the action (ref or id)' },
];
const REF_FILTERS = {
  from: { flags: '--from <date>', description: 'from this date (ISO 8601)' },
  to: { flags: '--to <date>', description: 'up to this date (ISO 8601)' },
  limit: { flags: '--limit <n>', description: 'at most N items' },
  before: { flags: '--before <id>', description: 'the page before this id (from the previous page)' },
} as const;

/** How an expiry is written (`key set --expires-in|--expires-at`, `key expire --in|--at`). */
const EXPIRY = {
  in: 'this long from now: 90m, 12h, 30d, 2w',
  at: 'then: 2027-01-31 (midnight UTC) or 2027-01-31T09:00:00Z',
} as const;

const KEY: CommandSpec = {
  name: 'key',
  summary: 'secrets: set, read, list, delete; their versions and who used them',
  help: `The value of key set is read from stdin (one trailing newline dropped) or, on a terminal, from a hidden prompt;
never from argv. Keys are encrypted unless --plain. Reference: docs/secrets-management.md.

Examples:
  printf '%s' 'sk_live_abc123' | attune key set --pack mypack api_key
  attune key get mypack.api_key --decrypt --json
  attune key rollback mypack.api_key --to 3
  attune key executions mypack.api_key --version 2`,
  subcommands: [
    {
      name: 'set',
      args: ['<name>'],
      excessArgs: true,
      summary: 'create the key, or write its next version (value from stdin or a hidden prompt)',
      options: [
        ...OWNER,
        { flags: '--ref <ref>', description: 'the ref to give the key (default: owner.name)' },
        { flags: '--plain', description: 'store the value unencrypted' },
        {
          flags: '--value-json',
          description: 'parse the value as JSON (objects, arrays, numbers, booleans)',
        },
        { flags: '--cas <version>', description: 'write only if the key is at this version (else exit 4)' },
        { flags: '--max-versions <n>', description: 'versions kept for this key (secrets.max_versions)' },
        { flags: '--expires-in <duration>', description: `the value expires after ${EXPIRY.in}` },
        { flags: '--expires-at <time>', description: `the value expires ${EXPIRY.at}` },
      ],
      help: `Give exactly one owner. A new value never expires unless --expires-in or --expires-at says so (expiry belongs
to a value; key expire changes it without a new version). Example:
  printf '%s' 'sk_live_abc123' | attune key set --pack mypack api_key --expires-in 30d`,
    },
    {
      name: 'get',
      args: ['<ref>'],
      summary: "a key's metadata; its value with --decrypt",
      options: [
        { flags: '--version <n>', description: 'an older version' },
        { flags: '--decrypt', description: 'print the value (recorded in the audit log)' },
      ],
    },
    {
      name: 'list',
      summary: 'keys, a page at a time (never a value)',
      options: [
        { flags: '--owner-type <type>', description: 'system, pack or action' },
        { flags: '--pack <pack>', description: "the pack's keys" },
        { flags: '--action <action>', description: "the action's keys" },
        { flags: '--deleted', description: 'deleted keys (undelete brings them back)' },
        {
          flags: '--expiring <duration>',
          description: 'keys that expire within this time (e.g. 7d), soonest first',
        },
        {
          flags: '--expired',
          description:
            'keys that have expired (not delivered to actions past secrets.expiry_grace; never deleted)',
        },
        { flags: '--page <n>', description: 'page number (default 1)' },
        { flags: '--per-page <n>', description: 'keys per page (default 50)' },
      ],
    },
    {
      name: 'delete',
      args: ['<ref>'],
      summary: 'soft delete (undelete brings it back); --purge: the key and every version, for good',
      options: [{ flags: '--purge', description: 'delete the key and every version for good' }],
    },
    { name: 'undelete', args: ['<ref>'], summary: 'bring a deleted key back' },
    {
      name: 'expire',
      args: ['<ref>'],
      summary: 'change when the current value expires (no new version), or --never',
      options: [
        { flags: '--in <duration>', description: `expires after ${EXPIRY.in}` },
        { flags: '--at <time>', description: `expires ${EXPIRY.at}` },
        { flags: '--never', description: 'never expires' },
      ],
    },
    { name: 'versions', args: ['<ref>'], summary: "a key's versions (metadata only)" },
    {
      name: 'rollback',
      args: ['<ref>'],
      summary: "make an old version's value current again, as a new version, without showing it",
      options: [
        { flags: '--to <version>', description: 'the version to roll back to (required)' },
        { flags: '--cas <version>', description: 'only if the key is at this version (else exit 4)' },
      ],
    },
    {
      name: 'destroy',
      args: ['<ref>'],
      summary: 'erase the values of old versions for good (their metadata stays)',
      options: [{ flags: '--versions <list>', description: 'versions to destroy: N[,N…] (required)' }],
    },
    {
      name: 'usage',
      args: ['<ref>'],
      summary: 'last use; actions and versions that used the key (default: the last 30 days)',
      options: [REF_FILTERS.from, REF_FILTERS.to],
    },
    {
      name: 'executions',
      args: ['<ref>'],
      summary: 'every execution that received a version (incident response)',
      options: [
        { flags: '--version <n>', description: 'the version (required)' },
        REF_FILTERS.limit,
        REF_FILTERS.before,
      ],
    },
    {
      name: 'unused',
      summary: 'keys no execution received for N days',
      options: [{ flags: '--days <n>', description: 'the number of days (required)' }],
    },
  ],
};

const AUDIT: CommandSpec = {
  name: 'audit',
  summary: 'the audit log: who did what to which secret; is it intact; was this string a value',
  help: `Reference: docs/audit.md. Examples:
  attune audit list --ref mypack.api_key
  printf '%s' 'the-leaked-string' | attune audit hash`,
  subcommands: [
    {
      name: 'list',
      summary: 'events, newest first (never a value)',
      options: [
        { flags: '--ref <ref>', description: "the secret's events" },
        { flags: '--actor <name>', description: "an actor's events (token or OS user name)" },
        { flags: '--action <action>', description: 'events of this kind (e.g. key.decrypt)' },
        REF_FILTERS.from,
        REF_FILTERS.to,
        REF_FILTERS.limit,
        REF_FILTERS.before,
      ],
    },
    {
      name: 'verify',
      summary: 'recompute the hash chain; exit 1 and name the first event changed, removed or inserted',
    },
    { name: 'hash', summary: 'was the string on stdin ever a stored value, and when (needs audit.hmac_key)' },
    {
      name: 'prune',
      summary: 'delete older events for good; the prune is recorded',
      options: [
        { flags: '--before <date>', description: 'delete events older than this date (required)' },
        { flags: '--yes', description: 'confirm' },
      ],
    },
  ],
};

const KEYRING: CommandSpec = {
  name: 'keyring',
  summary: 'master keys and data keys: status, rotations, upgrade, destruction',
  help: 'Runbook: docs/secrets-management.md#rotating-the-encryption-key.',
  subcommands: [
    { name: 'status', summary: 'what each master key protects' },
    { name: 'rotate', summary: 'rewrap every data key under the active master key (security.active_key)' },
    {
      name: 'rotate-data-key',
      summary: 'a new data key for one owner; its values re-encrypted (online, resumable)',
      options: OWNER,
    },
    { name: 'upgrade', summary: 'values encrypted directly with a master key moved under data keys' },
    {
      name: 'destroy-data-key',
      args: ['<id>'],
      summary: 'crypto-shredding: the values that data key encrypts are unreadable for good',
      options: [{ flags: '--yes', description: 'confirm' }],
    },
  ],
};

const TOKEN: CommandSpec = {
  name: 'token',
  summary: 'API tokens',
  help: `The token is printed once, at creation; only its hash is stored. Example: attune token create ci --scopes keys:read`,
  subcommands: [
    {
      name: 'create',
      args: ['<name>'],
      summary: 'a new token, printed once',
      options: [
        {
          flags: '--scopes <list>',
          description:
            'SCOPE[,SCOPE…]: keys:read, keys:decrypt, keys:write, executions:run, audit:read, admin (required)',
        },
      ],
    },
    { name: 'list', summary: 'tokens (never the token itself)' },
    { name: 'revoke', args: ['<name>'], summary: 'revoke a token' },
  ],
};

const CRYPTO: CommandSpec = {
  name: 'crypto',
  summary: 'keygen, hash, encrypt, decrypt (attune-crypto; values on stdin and stdout only)',
  subcommands: [
    { name: 'keygen', summary: 'print a new random encryption key (43 characters)' },
    { name: 'hash', summary: 'print the key hash of the configured key' },
    ...(['encrypt', 'decrypt'] as const).map((name) => ({
      name,
      summary: `${name} the value read from stdin`,
      options: [
        { flags: '--context <context>', description: 'the context a v1 ciphertext is bound to (not secret)' },
        { flags: '--raw', description: 'keep a trailing newline of the input' },
      ],
    })),
  ],
};

/** Every command of `attune`, in the order `attune --help` lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  KEY,
  KEYRING,
  AUDIT,
  {
    name: 'pack',
    summary: 'packs',
    subcommands: [
      {
        name: 'register',
        args: ['<folder>'],
        summary:
          'validate pack.yaml and actions/*.yaml; register the pack and its actions in one transaction',
        completeFiles: true,
        help: 'Reports what changed. Example: attune pack register packs/examples',
      },
    ],
  },
  {
    name: 'run',
    args: ['<action>'],
    summary: 'request an execution (--wait to wait for it)',
    options: [
      { flags: '--params <json>', description: "the action's parameters, a JSON object" },
      { flags: '--wait', description: 'wait for the end; exit 0 only if it succeeded' },
      { flags: '--timeout <seconds>', description: 'how long --wait waits (default 600)' },
    ],
    help: `Creates the execution and publishes it to the workers; prints its id and status. With --wait, prints the
execution once it ends: each secret it received (ref, level, version, what it overrode), the masked output and the
warnings. Example: attune run examples.check --params '{"host":"db1"}' --wait`,
  },
  {
    name: 'execution',
    summary: 'executions',
    subcommands: [
      {
        name: 'get',
        args: ['<id>'],
        summary:
          'an execution, whatever its status: the secrets it received (provenance), masked output, warnings',
        help: 'As attune run --wait prints it; --json: the API shape (GET /api/v1/executions/{id}).',
      },
    ],
  },
  TOKEN,
  {
    name: 'login',
    summary: 'keep the API token remote mode uses (ATTUNE_API_URL), read from stdin or a hidden prompt',
    help: `With ATTUNE_API_URL set, checks the token against the API and keeps it in $XDG_CONFIG_HOME/attune/token
(~/.config/attune/token), readable by you only; remote mode uses it when ATTUNE_TOKEN is not set. Never from argv.
Example: printf '%s' "$TOKEN" | attune login`,
  },
  { name: 'logout', summary: 'remove the token attune login kept' },
  {
    name: 'db',
    summary: 'the database',
    subcommands: [
      {
        name: 'migrate',
        summary: 'apply pending migrations to DATABASE_URL, or to the embedded database when it is not set',
      },
    ],
  },
  {
    name: 'worker',
    summary: 'start the worker service (SIGTERM/SIGINT drains it and exits 0)',
    help: 'Reference: docs/deployment.md.',
  },
  {
    name: 'api',
    summary: 'start the HTTP API on api.host:api.port (default 127.0.0.1:8080)',
    help: 'Reference: docs/api.md.',
  },
  { name: 'demo', summary: 'the end-to-end demo on the embedded database (pnpm demo)' },
  CRYPTO,
  {
    name: 'completion',
    args: ['<shell>'],
    summary: 'print the shell completion script: bash or zsh',
    help: `Examples:
  source <(attune completion bash)                # bash, this shell; or save it under
                                                  #   ~/.local/share/bash-completion/completions/attune
  attune completion zsh > "\${fpath[1]}/_attune"   # zsh (then compinit)`,
  },
];

/** Options every command takes. */
export const GLOBAL_OPTIONS: readonly OptionSpec[] = [
  { flags: '--json', description: 'machine-readable output (the API shape, snake_case)' },
  {
    flags: '--config <file>',
    description: 'the configuration file (else $ATTUNE_CONFIG, else ./attune.yaml when present)',
  },
];

export const MAIN_HELP = `Remote mode: with ATTUNE_API_URL (or cli.api_url) set, commands go through the HTTP API with a token
(ATTUNE_TOKEN or attune login) and hold neither the database nor the encryption key. Without it, they open the
database directly (local mode: the admin path). Reference: docs/cli.md.

Exit codes: 0 ok, 1 failed or unavailable, 2 invalid input (usage, configuration, a name or value, a local-only
command in remote mode), 3 not found, 4 conflict, 5 refused (no encryption key, a token without the scope)`;
