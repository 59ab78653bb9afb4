/**
 * Test support: real worker processes (and, optionally, a real API process) that hold the encryption key,
 * DATABASE_URL and AMQP_URL in their environment plus a private config file and key file, with a hostile pack and
 * a victim pack registered — what the isolation tests attack. Each test file makes its own harness (its own
 * database, packs, broker topology and marker token).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExecutionPublisher } from '@attune/broker';
import { type IsolatedBroker, isolatedBroker } from '@attune/broker/testing';
import { DEFAULT_AMQP_URL } from '@attune/config';
import { EncryptionKey } from '@attune/crypto';
import { createTestDatabase, type TestDatabase } from '@attune/db/testing';
import { registerPack } from '@attune/registry';
import { readablePackRoot, TEST_SCRATCH_BASE, USER_MODE_RUN_AS } from './isolation.js';
import { writeTestPack } from './packs.js';
import { executionService, keyService, testActor } from './services.js';

const BIN = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** A worker process started by a test. */
export interface Worker {
  readonly id: string;
  readonly proc: ChildProcess;
  readonly broker: IsolatedBroker;
  output(): string;
  readonly exited: Promise<number | null>;
  port(): Promise<number>;
}

/** What the hostile probe (fixtures/probe.py) reports: everything it read, hex-encoded, or `ERR <kind>`. */
export interface ProbeResult {
  pid: number;
  uid: number;
  parents: number[];
  procs: Record<string, { environ?: string; cmdline?: string; mem?: string; fds?: Record<string, string> }>;
  files: Record<string, string>;
  walked: Record<string, string>;
  rounds: number[];
}

/** A stored execution. */
export type Row = Awaited<ReturnType<TestDatabase['prisma']['execution']['findUniqueOrThrow']>>;

/** See the module comment. */
export class WorkerHarness {
  /** A marker only this harness's processes and secrets carry. */
  readonly token = randomBytes(6).toString('hex');
  readonly key = `isolation-test-key-${this.token}-0123456789abcdefghij`;
  readonly victimSecret = `victim-secret-${this.token}-zqxjkv`;
  /** A sleeping action of the hostile pack, with a name no other test file's process has. */
  readonly sleeper = `sleeper_${this.token}`;
  /** The credential inside DATABASE_URL (the loopback server trusts local connections and never asks for it). */
  readonly dbPassword = `dbpw${this.token}`;
  readonly amqpUrl: string;
  db!: TestDatabase;
  privateDir!: string;
  configFile!: string;
  keyFile!: string;
  api: ChildProcess | undefined;
  #packRoot: string | undefined;
  readonly #brokers: IsolatedBroker[] = [];
  readonly #processes = new Set<ChildProcess>();

  constructor(private readonly options: { api?: boolean } = {}) {
    const base = process.env.AMQP_URL || DEFAULT_AMQP_URL;
    // A marker in the URL, so that a leaked AMQP_URL is recognisable.
    this.amqpUrl = `${base}${base.includes('?') ? '&' : '?'}locale=en_US&attune_marker=amqp${this.token}`;
  }

  /** What must never reach an action: the key, the database and the broker credentials. */
  needles(): string[] {
    return [this.key, this.dbPassword, `amqp${this.token}`];
  }

  async setUp(): Promise<void> {
    if (!existsSync(BIN))
      throw new Error(`${BIN} is missing: build @attune/worker first (turbo does, before test)`);
    this.db = await createTestDatabase();
    // The worker's private files: a folder only its owner may enter, files only their owner may read.
    this.privateDir = mkdtempSync(join(tmpdir(), 'attune-private-'));
    this.configFile = join(this.privateDir, 'config.yaml');
    writeFileSync(this.configFile, `security:\n  encryption_key: "${this.key}"\n`, { mode: 0o600 });
    this.keyFile = join(this.privateDir, 'encryption.key');
    writeFileSync(this.keyFile, `${this.key}\n`, { mode: 0o600 });
    await this.#registerPacks();
    if (this.options.api) await this.#startApi();
  }

  async tearDown(): Promise<void> {
    for (const p of this.#processes) p.kill('SIGKILL');
    // What victims of unconfined runs left in the host's shared folders.
    for (const dir of ['/tmp', '/var/tmp', '/dev/shm']) {
      for (const entry of readdirSync(dir))
        if (entry.includes(this.token)) rmSync(join(dir, entry), { force: true });
    }
    for (const b of this.#brokers) await b.remove().catch(() => undefined);
    for (const dir of [this.privateDir, this.#packRoot])
      if (dir) rmSync(dir, { recursive: true, force: true });
    await this.db?.drop();
  }

  /** A worker's environment: the key, the database and the broker in clear, as the attacker found them. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    const url = new URL(this.db.url as string);
    url.password = this.dbPassword;
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
      DATABASE_URL: url.toString(),
      AMQP_URL: this.amqpUrl,
      ATTUNE__SECURITY__ENCRYPTION_KEY: this.key,
      ATTUNE_CONFIG: this.configFile,
      ...extra,
    };
  }

  /** Starts `attune-worker start` in `mode`; an empty value in `extra` removes that variable. */
  startWorker(id: string, mode: string, extra: Record<string, string> = {}): Worker {
    const broker = isolatedBroker(`iso-${id}`, this.amqpUrl);
    this.#brokers.push(broker);
    const env = this.env({
      ...broker.env,
      AMQP_URL: this.amqpUrl,
      ATTUNE__BROKER__RECONNECT_MAX_MS: '1000',
      ATTUNE__WORKER__ID: `${id}-${this.token}`,
      ATTUNE__WORKER__HEARTBEAT_INTERVAL_MS: '300',
      ATTUNE__WORKER__STALE_AFTER_MS: '1500',
      ATTUNE__WORKER__HTTP_PORT: '0',
      ATTUNE__WORKER__ISOLATION: mode,
      ATTUNE__WORKER__SCRATCH_DIR: TEST_SCRATCH_BASE,
      ATTUNE__WORKER__KILL_GRACE_MS: '500',
      // The probe prints up to ~50 KiB per process it can see: in the unconfined mode, on a machine running the whole
      // test suite, that is every process of the host — more than the default 10 MiB cap, which would cut its JSON.
      ATTUNE__WORKER__OUTPUT_CAP_BYTES: String(256 * 1024 * 1024),
      ...(mode === 'user' && USER_MODE_RUN_AS ? { ATTUNE__WORKER__RUN_AS: USER_MODE_RUN_AS } : {}),
      ...extra,
    });
    for (const [name, value] of Object.entries(env)) if (value === '') delete env[name];
    const proc = spawn(process.execPath, [BIN, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = this.#track(proc);
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    return {
      id: `${id}-${this.token}`,
      proc,
      broker,
      output,
      exited,
      port: async () => {
        const m = await waitUntil(
          `worker ${id} to listen`,
          async () => /"port":(\d+)/.exec(output()) ?? undefined,
          90_000,
        ).catch(() => {
          throw new Error(`worker ${id} did not start:\n${output()}`);
        });
        return Number(m[1]);
      },
    };
  }

  async enqueue(worker: Worker, actionRef: string, params: object = {}): Promise<bigint> {
    const publisher = new ExecutionPublisher(worker.broker.config);
    try {
      return await executionService(this.db, (m) => publisher.publish(m)).request(
        testActor,
        actionRef,
        params,
      );
    } finally {
      await publisher.close();
    }
  }

  async finished(id: bigint, timeoutMs = 90_000): Promise<Row> {
    return waitUntil(
      `execution ${id} to end`,
      async () => {
        const row = await this.db.prisma.execution.findUniqueOrThrow({ where: { id } });
        return ['requested', 'scheduled', 'running'].includes(row.status) ? undefined : row;
      },
      timeoutMs,
    );
  }

  /**
   * Runs an action on a worker and waits for its end, within the test's own timeout: an execution that does not end
   * fails the test with the worker's log, so that a hang says where it is.
   */
  async runOn(worker: Worker, actionRef: string, params: object = {}): Promise<Row> {
    const id = await this.enqueue(worker, actionRef, params);
    try {
      return await this.finished(id, 50_000);
    } catch (error) {
      throw new Error(
        `${(error as Error).message}\n--- worker log (last 6000 characters) ---\n${worker.output().slice(-6000)}`,
      );
    }
  }

  /** The probe's parameters: the worker's, the API's and the helper's files and /proc entries to try. */
  probeParams(worker: Worker) {
    return {
      watch: [worker.proc.pid, this.api?.pid, helperPid(worker.proc.pid as number)].filter(
        (p) => p !== undefined,
      ),
      paths: [
        this.configFile,
        this.keyFile,
        '/proc/1/environ',
        `/proc/${worker.proc.pid}/environ`,
        `/proc/${this.api?.pid}/environ`,
      ],
      walk: [this.privateDir, TEST_SCRATCH_BASE, '/tmp'],
    };
  }

  #track(proc: ChildProcess): () => string {
    this.#processes.add(proc);
    proc.once('exit', () => this.#processes.delete(proc));
    let output = '';
    proc.stdout?.on('data', (c: Buffer) => {
      output += c;
    });
    proc.stderr?.on('data', (c: Buffer) => {
      output += c;
    });
    return () => output;
  }

  async #registerPacks(): Promise<void> {
    const root = readablePackRoot('isolation-packs');
    this.#packRoot = root;
    const fixture = (name: string) => join(FIXTURES, name);
    const target = 'parameters:\n  host: {type: string}\n  port: {type: integer}\n';
    const connect = [
      'import json, socket, sys',
      'target = json.load(sys.stdin)',
      'try:',
      '    socket.create_connection((target["host"], target["port"]), timeout=3).close()',
      '    print("connected")',
      'except OSError as error:',
      '    print("no connection:", type(error).__name__)',
    ].join('\n');
    const hostile = writeTestPack(root, 'hostile', {
      probe: {
        file: 'probe.py',
        runner: 'python',
        copy: fixture('probe.py'),
        extra:
          'parameters:\n  paths: {type: array}\n  walk: {type: array}\n  watch: {type: array}\n  rounds: {type: integer}\n  pause: {type: number}\n',
      },
      [this.sleeper]: {
        file: `${this.sleeper}.py`,
        runner: 'python',
        code: 'import sys, time\nsys.stdin.read()\nprint("started", flush=True)\ntime.sleep(60)\n',
      },
      quick: { file: 'quick.sh', runner: 'shell', code: '#!/bin/sh\ncat >/dev/null\necho quick\n' },
      offline: { file: 'offline.py', runner: 'python', code: connect, extra: `network: false\n${target}` },
      online: { file: 'online.py', runner: 'python', code: connect, extra: target },
      rmrace: {
        file: 'rmrace.py',
        runner: 'python',
        copy: fixture('rmrace.py'),
        extra: 'parameters:\n  target: {type: string}\n  names: {type: array}\n  seconds: {type: number}\n',
      },
      implant: {
        file: 'implant.py',
        runner: 'python',
        copy: fixture('implant.py'),
        extra: 'parameters:\n  loot: {type: string}\n  seconds: {type: number}\n',
      },
      deep: { file: 'deep.py', runner: 'python', copy: fixture('deep.py') },
      coredump: { file: 'coredump.py', runner: 'python', copy: fixture('coredump.py') },
      syscalls: {
        file: 'syscalls.py',
        runner: 'python',
        copy: fixture('syscalls.py'),
        extra:
          'parameters:\n  numbers: {type: object}\n  clone: {type: integer}\n  clone3: {type: integer}\n  x32: {type: integer}\n',
      },
      outlive: {
        file: 'outlive.py',
        runner: 'python',
        copy: fixture('outlive.py'),
        extra:
          'parameters:\n  marker: {type: string}\n  seconds: {type: number}\n  normal: {type: boolean}\n',
      },
    });
    const victim = writeTestPack(root, 'victim', {
      victim: {
        file: 'victim.py',
        runner: 'python',
        copy: fixture('victim.py'),
        extra: 'parameters:\n  hold: {type: number}\n  name: {type: string}\n',
      },
    });
    await registerPack(this.db.prisma, hostile);
    await registerPack(this.db.prisma, victim);
    const keys = keyService(this.db, EncryptionKey.fromPassword(this.key));
    await keys.create(testActor, {
      owner: { type: 'pack', pack: 'victim' },
      name: 'token',
      value: this.victimSecret,
      encrypted: true,
    });
  }

  /** The API, as its own process with the key in its environment. */
  async #startApi(): Promise<void> {
    const api = spawn(process.execPath, [join(FIXTURES, 'start-api.mjs')], {
      env: this.env({ ATTUNE__API__PORT: '0' }),
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
    });
    this.api = api;
    const output = this.#track(api);
    await waitUntil(
      'the API to listen',
      async () => output().includes('listening') || undefined,
      60_000,
    ).catch(() => {
      throw new Error(`the API did not start:\n${output()}`);
    });
  }
}

export async function waitUntil<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await fn();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Everything the probe read, decoded: where a leak would show. */
export function loot(result: ProbeResult): string {
  const parts: string[] = [];
  const add = (value: string | undefined) => {
    if (value && /^[0-9a-f]*$/.test(value)) parts.push(Buffer.from(value, 'hex').toString('latin1'));
  };
  for (const proc of Object.values(result.procs)) {
    add(proc.environ);
    add(proc.cmdline);
    for (const v of Object.values(proc.fds ?? {})) add(v);
  }
  for (const v of Object.values(result.files)) add(v);
  for (const v of Object.values(result.walked)) add(v);
  return parts.join('\n');
}

export async function readiness(port: number): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

/** The spawn helper of a worker process: its child named attune-spawn-helper. */
export function helperPid(workerPid: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (
        ppid === workerPid &&
        readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('attune-spawn-helper')
      )
        return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** The execution scratch folders in a worker's scratch root (`<execution id>-<random>`). */
export function executionFolders(root: string): string[] {
  return readdirSync(root).filter((e) => /^\d+-[0-9a-f]+$/.test(e));
}

/** Host processes whose command line mentions `text`. */
export function processesWith(text: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
