/**
 * `attune`: the project CLI. Values are read from stdin or a hidden prompt, never from argv. `--json` everywhere
 * for scripts. Reference: docs/cli.md.
 */
import { isUtf8 } from 'node:buffer';
import { createInterface } from 'node:readline';
import { startApi } from '@attune/api';
import { TokenError, TokenStore } from '@attune/auth';
import { ConfigError, loadWorkerConfig, type WorkerConfig } from '@attune/config';
import { cryptoCli, EncryptionKey } from '@attune/crypto';
import { type Database, DbError, migrate, openDatabase } from '@attune/db';
import { RegistryError, registerPack } from '@attune/registry';
import {
  KeyNotFoundError,
  type KeyOwner,
  type KeyRecord,
  KeyRepository,
  MAX_VALUE_BYTES,
  SecretsError,
  type SecretValue,
} from '@attune/secrets';
import { runDemo, workerCli } from '@attune/worker';
import { pino } from 'pino';

/** Exit codes: what a script can branch on. */
export const EXIT = { ok: 0, failed: 1, usage: 2, notFound: 3, conflict: 4, denied: 5 } as const;

/** Where the CLI reads and writes; tests pass their own. */
export interface CliIo {
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly stdout: { write(text: string): unknown; isTTY?: boolean };
  readonly stderr: { write(text: string): unknown; isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
}

const HELP: Record<string, string> = {
  main: `Usage: attune <command> [options]      (attune <command> --help for details)

Commands:
  key set|get|list|delete   manage secrets (values from stdin or a prompt, never argv)
  pack register <folder>    register or update a pack
  run <action>              request an execution (--wait to wait for it)
  token create|list|revoke  API tokens
  db migrate                apply database migrations
  worker                    start the worker service
  api                       start the HTTP API
  demo                      the end-to-end demo on the embedded database
  crypto …                  keygen, hash, encrypt, decrypt (attune-crypto)

Global options: --json (machine-readable output), --config FILE (else $ATTUNE_CONFIG)
Exit codes: 0 ok, 1 failed, 2 usage or configuration error, 3 not found, 4 conflict, 5 refused (e.g. no key)
`,
  key: `Usage:
  attune key set (--system | --pack PACK | --action ACTION) NAME [--ref REF] [--plain] [--value-json]
  attune key get REF [--decrypt]
  attune key list [--owner-type system|pack|action] [--pack PACK] [--action ACTION] [--page N] [--per-page N]
  attune key delete REF

key set creates the key, or replaces its value if it exists. The value is read from stdin (one trailing newline
dropped) or, on a terminal, from a hidden prompt. Keys are encrypted unless --plain. --value-json parses the value
as JSON (objects, arrays, numbers, booleans).

Examples:
  printf '%s' 'sk_live_abc123' | attune key set --pack mypack api_key
  attune key get mypack.api_key --decrypt --json
`,
  pack: `Usage: attune pack register FOLDER

Validates pack.yaml and actions/*.yaml, then registers the pack and its actions in one transaction; reports what
changed. Example: attune pack register packs/examples
`,
  run: `Usage: attune run ACTION [--params JSON] [--wait] [--timeout SECONDS]

Creates the execution and publishes it to the workers through RabbitMQ. With --wait, prints its outcome (masked)
and exits 0 only if it succeeded. Example: attune run examples.check --params '{"host":"db1"}' --wait
`,
  token: `Usage:
  attune token create NAME --scopes SCOPE[,SCOPE…]   (keys:read, keys:decrypt, keys:write, executions:run, admin)
  attune token list
  attune token revoke NAME

The token is printed once, at creation; only its hash is stored. Example: attune token create ci --scopes keys:read
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

class UsageError extends Error {}

interface Parsed {
  positionals: string[];
  flags: Map<string, string | true>;
}

function parse(argv: readonly string[], valued: readonly string[]): Parsed {
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '-h') flags.set('help', true);
    else if (arg.startsWith('--')) {
      const [name, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
      if (valued.includes(name)) {
        const value = inline ?? argv[++i];
        if (value === undefined) throw new UsageError(`--${name} needs a value`);
        flags.set(name, value);
      } else if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      else flags.set(name, true);
    } else positionals.push(arg);
  }
  return { positionals, flags };
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  const out = (text: string) => io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  const err = (text: string) => io.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  if (command === 'crypto')
    return cryptoCli(rest, {
      stdin: io.stdin as AsyncIterable<Buffer>,
      stdout: io.stdout,
      stderr: io.stderr,
      env: io.env,
    });
  if (command === 'worker') return workerCli(['start', ...rest], io.env);
  if (command === 'demo') return runDemo();
  if (!command || command === '--help' || command === '-h' || command === 'help' || !(command in HELP)) {
    (command && command !== '--help' && command !== '-h' && command !== 'help' ? err : out)(
      `${command && !['--help', '-h', 'help'].includes(command) ? `attune: unknown command '${command}'\n\n` : ''}${HELP.main}`,
    );
    return command && !['--help', '-h', 'help'].includes(command) ? EXIT.usage : EXIT.ok;
  }
  let args: Parsed;
  try {
    args = parse(rest, [
      'ref',
      'pack',
      'action',
      'owner-type',
      'page',
      'per-page',
      'params',
      'timeout',
      'scopes',
      'config',
    ]);
  } catch (error) {
    err(`attune ${command}: ${(error as Error).message}\n\n${HELP[command]}`);
    return EXIT.usage;
  }
  if (args.flags.has('help')) {
    out(HELP[command] as string);
    return EXIT.ok;
  }
  const json = args.flags.has('json');
  let config: WorkerConfig;
  try {
    const file = args.flags.get('config');
    config = loadWorkerConfig({ env: io.env, file: typeof file === 'string' ? file : undefined });
  } catch (error) {
    if (error instanceof ConfigError) {
      err(`attune: ${error.message}`);
      return EXIT.usage;
    }
    throw error;
  }
  if (command === 'run') return workerCli(['run', ...rest.filter((a) => a !== '--json')], io.env);
  const logger = pino({ level: io.env.ATTUNE_LOG_LEVEL ?? 'warn' }, pino.destination(2));
  if (command === 'api') {
    const server = await startApi(
      config,
      pino({ level: io.env.ATTUNE_LOG_LEVEL ?? 'info', redact: ['req.headers.authorization'] }),
    );
    err(
      `attune api listening on ${server.url} (OpenAPI: ${server.url}/openapi.json, docs: ${server.url}/docs)`,
    );
    await new Promise<void>((resolve) => {
      const stop = () => void server.close().then(resolve);
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    return EXIT.ok;
  }
  const progress = (text: string) => {
    if (io.stderr.isTTY && !json) err(text);
  };
  let db: Database | undefined;
  try {
    progress('opening the database…');
    db = await openDatabase(config.database);
    // Every command brings the database up to date first (the embedded default has no separate install step).
    const migrations = await migrate(db.sql, { logger });
    const [sub, ...pos] = args.positionals;
    switch (command) {
      case 'db': {
        if (sub !== 'migrate') throw new UsageError(`unknown subcommand '${sub ?? ''}'`);
        const report = migrations;
        if (json) out(JSON.stringify(report));
        else
          out(`database is up to date (${report.alreadyApplied.length + report.applied.length} migrations)`);
        return EXIT.ok;
      }
      case 'pack': {
        if (sub !== 'register' || pos.length !== 1) throw new UsageError('expected: pack register FOLDER');
        progress(`registering ${pos[0]}…`);
        const report = await registerPack(db.prisma, pos[0] as string);
        if (json) out(JSON.stringify(report));
        else {
          const a = report.actions;
          out(`pack ${report.pack.ref}: ${report.pack.change}`);
          for (const [label, list] of [
            ['created', a.created],
            ['updated', a.updated],
            ['unchanged', a.unchanged],
            ['removed', a.removed],
          ] as const) {
            if (list.length) out(`  ${label.padEnd(9)} ${list.join(', ')}`);
          }
        }
        return EXIT.ok;
      }
      case 'token':
        return await tokenCommand(new TokenStore(db.prisma), sub, pos, args, json, out);
      case 'key': {
        const key = config.encryptionKey ? EncryptionKey.fromPassword(config.encryptionKey) : undefined;
        return await keyCommand(
          new KeyRepository({ prisma: db.prisma, encryptionKey: key, logger }),
          sub,
          pos,
          args,
          json,
          io,
          out,
        );
      }
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      err(`attune ${command}: ${error.message}\n\n${HELP[command] ?? ''}`);
      return EXIT.usage;
    }
    const e = error as { code?: string; message?: string };
    const code =
      error instanceof KeyNotFoundError ||
      e.code === 'ATTUNE_AUTH_NOT_FOUND' ||
      e.code === 'ATTUNE_SECRETS_NOT_FOUND' ||
      e.code === 'ATTUNE_REGISTRY_ACTION_NOT_FOUND'
        ? EXIT.notFound
        : e.code === 'ATTUNE_SECRETS_CONFLICT' ||
            e.code === 'ATTUNE_AUTH_CONFLICT' ||
            e.code === 'ATTUNE_REGISTRY_PACK_CONFLICT'
          ? EXIT.conflict
          : e.code === 'ATTUNE_SECRETS_ENCRYPTION_KEY_REQUIRED' || e.code === 'ATTUNE_SECRETS_UNDECRYPTABLE'
            ? EXIT.denied
            : EXIT.failed;
    if (
      error instanceof SecretsError ||
      error instanceof TokenError ||
      error instanceof RegistryError ||
      error instanceof DbError
    ) {
      if (json) out(JSON.stringify({ error: { code: e.code, message: e.message } }));
      else err(`attune ${command}: ${e.message} [${e.code}]`);
      return code;
    }
    throw error;
  } finally {
    await db?.close();
  }
}

async function tokenCommand(
  store: TokenStore,
  sub: string | undefined,
  pos: string[],
  args: Parsed,
  json: boolean,
  out: (t: string) => unknown,
): Promise<number> {
  if (sub === 'create') {
    const scopes = args.flags.get('scopes');
    if (pos.length !== 1 || typeof scopes !== 'string')
      throw new UsageError('expected: token create NAME --scopes SCOPE[,SCOPE…]');
    const { token, record } = await store.create(
      pos[0] as string,
      scopes
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );
    if (json) out(JSON.stringify({ token, ...record }));
    else
      out(
        `${token}\n(token '${record.name}' with scopes ${record.scopes.join(', ')}; shown once — store it now)`,
      );
    return EXIT.ok;
  }
  if (sub === 'list') {
    const list = await store.list();
    if (json) out(JSON.stringify(list));
    else
      table(
        out,
        ['NAME', 'SCOPES', 'CREATED', 'LAST USED', 'STATE'],
        list.map((t) => [
          t.name,
          t.scopes.join(','),
          iso(t.created),
          t.lastUsedAt ? iso(t.lastUsedAt) : '-',
          t.revokedAt ? 'revoked' : 'active',
        ]),
      );
    return EXIT.ok;
  }
  if (sub === 'revoke') {
    if (pos.length !== 1) throw new UsageError('expected: token revoke NAME');
    const record = await store.revoke(pos[0] as string);
    if (json) out(JSON.stringify(record));
    else out(`revoked token '${record.name}'`);
    return EXIT.ok;
  }
  throw new UsageError(`unknown subcommand '${sub ?? ''}'`);
}

async function keyCommand(
  keys: KeyRepository,
  sub: string | undefined,
  pos: string[],
  args: Parsed,
  json: boolean,
  io: CliIo,
  out: (t: string) => unknown,
): Promise<number> {
  const show = (k: KeyRecord) => {
    if (json) return out(JSON.stringify(k));
    out(`${k.ref}  (${k.envName}, ${k.ownerType}${k.encrypted ? ', encrypted' : ''})`);
    if (k.value !== null) out(typeof k.value === 'string' ? k.value : JSON.stringify(k.value));
  };
  switch (sub) {
    case 'set': {
      if (pos.length !== 1)
        throw new UsageError(
          'expected: key set (--system | --pack PACK | --action ACTION) NAME — the value comes from stdin, never argv',
        );
      const owner = ownerFrom(args);
      const name = pos[0] as string;
      const text = await readSecret(io, `value for ${name}: `);
      // An empty stdin is almost always a mistake (a pipe from a failed command), not an empty secret.
      if (text === '') throw new UsageError('no value was given (stdin was empty)');
      let value: SecretValue = text;
      if (args.flags.has('value-json')) {
        try {
          value = JSON.parse(text) as SecretValue;
        } catch {
          throw new UsageError('--value-json: the value read is not valid JSON');
        }
      }
      const encrypted = !args.flags.has('plain');
      const explicitRef = args.flags.get('ref');
      const { key: record } = await keys.set({
        ...(typeof explicitRef === 'string' ? { ref: explicitRef } : {}),
        owner,
        name,
        value,
        encrypted,
      });
      if (json) out(JSON.stringify(record));
      else
        out(
          `stored ${record.ref} (${record.envName}${record.encrypted ? ', encrypted' : ', not encrypted'})`,
        );
      return EXIT.ok;
    }
    case 'get':
      if (pos.length !== 1) throw new UsageError('expected: key get REF [--decrypt]');
      show(await keys.get(pos[0] as string, { decrypt: args.flags.has('decrypt') }));
      return EXIT.ok;
    case 'delete':
      if (pos.length !== 1) throw new UsageError('expected: key delete REF');
      await keys.delete(pos[0] as string);
      if (json) out(JSON.stringify({ deleted: pos[0] }));
      else out(`deleted ${pos[0]}`);
      return EXIT.ok;
    case 'list': {
      const ownerType = args.flags.get('owner-type');
      if (ownerType !== undefined && !['system', 'pack', 'action'].includes(String(ownerType)))
        throw new UsageError('--owner-type is system, pack or action');
      const pack = args.flags.get('pack');
      const action = args.flags.get('action');
      const page = await keys.list({
        ...(typeof ownerType === 'string' ? { ownerType: ownerType as 'system' } : {}),
        ...(typeof pack === 'string' ? { pack } : {}),
        ...(typeof action === 'string' ? { action } : {}),
        page: Number(args.flags.get('page') ?? 1),
        perPage: Number(args.flags.get('per-page') ?? 50),
      });
      if (json) out(JSON.stringify(page));
      else {
        table(
          out,
          ['REF', 'ENV VAR', 'OWNER', 'ENCRYPTED', 'UPDATED'],
          page.items.map((k) => [k.ref, k.envName, k.ownerType, k.encrypted ? 'yes' : 'no', iso(k.updated)]),
        );
        out(`page ${page.page} of ${Math.max(1, Math.ceil(page.total / page.perPage))} (${page.total} keys)`);
      }
      return EXIT.ok;
    }
    default:
      throw new UsageError(`unknown subcommand '${sub ?? ''}'`);
  }
}

function ownerFrom(args: Parsed): KeyOwner {
  const system = args.flags.has('system');
  const pack = args.flags.get('pack');
  const action = args.flags.get('action');
  if ([system, pack !== undefined, action !== undefined].filter(Boolean).length !== 1) {
    throw new UsageError('give exactly one owner: --system, --pack PACK or --action ACTION');
  }
  if (system) return { type: 'system' };
  if (typeof pack === 'string') return { type: 'pack', pack: /^\d+$/.test(pack) ? Number(pack) : pack };
  return { type: 'action', action: /^\d+$/.test(String(action)) ? Number(action) : String(action) };
}

/** Reads a secret: from stdin when it is piped, else from a prompt that does not echo. */
async function readSecret(io: CliIo, prompt: string): Promise<string> {
  if (!io.stdin.isTTY) {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of io.stdin) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      size += bytes.length;
      // Room for the value's limit and a trailing CRLF; more is refused without holding it all in memory.
      if (size > MAX_VALUE_BYTES + 2)
        throw new UsageError(
          `the value read from stdin is over ${MAX_VALUE_BYTES} bytes, the largest a secret may be`,
        );
      chunks.push(bytes);
    }
    const bytes = Buffer.concat(chunks);
    // Decoding would silently turn each invalid byte into U+FFFD and store a different secret than the one piped.
    if (!isUtf8(bytes))
      throw new UsageError(
        'the value read from stdin is not UTF-8 text (pipe text, or base64-encode binary data)',
      );
    const text = bytes.toString('utf8');
    return text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
  }
  io.stderr.write(prompt);
  const rl = createInterface({ input: io.stdin, terminal: true });
  // Echo nothing while the value is typed.
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => undefined;
  const answer = await new Promise<string>((resolve) => rl.question('', resolve));
  rl.close();
  io.stderr.write('\n');
  return answer;
}

function table(out: (t: string) => unknown, head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  out(
    head
      .map((h, i) => h.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd(),
  );
  for (const r of rows)
    out(
      r
        .map((c, i) => c.padEnd(widths[i] as number))
        .join('  ')
        .trimEnd(),
    );
  if (rows.length === 0) out('(none)');
}

function iso(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}
