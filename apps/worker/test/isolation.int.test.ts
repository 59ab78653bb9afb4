/**
 * Action isolation, tried as an attacker would (docs/worker.md#security-model): real worker processes and a real API
 * process, holding the encryption key, DATABASE_URL and AMQP_URL in their environment and a private config file
 * and key file, run hostile actions that walk /proc, their parents, other actions and the files actions leave
 * behind. Each claim is proven in the modes that make it, and the unconfined mode (`none`) is run as the control:
 * there the same probes do find the key, so the probes can fail.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExecutionPublisher } from '@attune/broker';
import { type IsolatedBroker, isolatedBroker } from '@attune/broker/testing';
import { DEFAULT_AMQP_URL } from '@attune/config';
import { EncryptionKey } from '@attune/crypto';
import { createTestDatabase, type TestDatabase } from '@attune/db/testing';
import { enqueueExecution, registerPack } from '@attune/registry';
import { KeyRepository } from '@attune/secrets';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readablePackRoot, TEST_SCRATCH_BASE, testableModes } from './support/isolation.js';
import { writeTestPack } from './support/packs.js';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const TOKEN = randomBytes(6).toString('hex');
const KEY = `isolation-test-key-${TOKEN}-0123456789abcdefghij`;
const AMQP_BASE = process.env.AMQP_URL || DEFAULT_AMQP_URL;
// A marker that only this file's processes carry: a leaked AMQP_URL is recognisable.
const AMQP_URL = `${AMQP_BASE}${AMQP_BASE.includes('?') ? '&' : '?'}locale=en_US&attune_marker=amqp${TOKEN}`;
const VICTIM_SECRET = `victim-secret-${TOKEN}-zqxjkv`;
const SLEEPER = `sleeper_${TOKEN}`;
const MODES = await testableModes();
const SANDBOX = MODES.find((m) => m.mode === 'sandbox');
const USER = MODES.find((m) => m.mode === 'user');

let db: TestDatabase;
let privateDir: string;
let packRoot: string;
let configFile: string;
let keyFile: string;
let apiProc: ChildProcess | undefined;
const brokers: IsolatedBroker[] = [];
const processes = new Set<ChildProcess>();

interface Worker {
  readonly id: string;
  readonly proc: ChildProcess;
  readonly broker: IsolatedBroker;
  output(): string;
  readonly exited: Promise<number | null>;
  port(): Promise<number>;
}

beforeAll(async () => {
  if (!existsSync(BIN))
    throw new Error(`${BIN} is missing: build @attune/worker first (turbo does, before test)`);
  db = await createTestDatabase();
  // The worker's private files: a folder only root may enter, files only their owner may read.
  privateDir = mkdtempSync(join(tmpdir(), 'attune-private-'));
  configFile = join(privateDir, 'config.yaml');
  writeFileSync(configFile, `security:\n  encryption_key: "${KEY}"\n`, { mode: 0o600 });
  keyFile = join(privateDir, 'encryption.key');
  writeFileSync(keyFile, `${KEY}\n`, { mode: 0o600 });

  packRoot = readablePackRoot('isolation-packs');
  const fixture = (name: string) => join(FIXTURES, name);
  const target = 'parameters:\n  host: {type: string}\n  port: {type: integer}\n';
  const offline = [
    'import json, socket, sys',
    'target = json.load(sys.stdin)',
    'try:',
    '    socket.create_connection((target["host"], target["port"]), timeout=3).close()',
    '    print("connected")',
    'except OSError as error:',
    '    print("no connection:", type(error).__name__)',
  ].join('\n');
  const hostile = writeTestPack(packRoot, 'hostile', {
    probe: {
      file: 'probe.py',
      runner: 'python',
      copy: fixture('probe.py'),
      extra:
        'parameters:\n  paths: {type: array}\n  walk: {type: array}\n  watch: {type: array}\n  rounds: {type: integer}\n  pause: {type: number}\n',
    },
    [SLEEPER]: {
      file: `${SLEEPER}.py`,
      runner: 'python',
      code: 'import sys, time\nsys.stdin.read()\nprint("started", flush=True)\ntime.sleep(60)\n',
    },
    quick: { file: 'quick.sh', runner: 'shell', code: '#!/bin/sh\ncat >/dev/null\necho quick\n' },
    offline: { file: 'offline.py', runner: 'python', code: offline, extra: `network: false\n${target}` },
    online: { file: 'online.py', runner: 'python', code: offline, extra: target },
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
  });
  const victim = writeTestPack(packRoot, 'victim', {
    victim: {
      file: 'victim.py',
      runner: 'python',
      copy: fixture('victim.py'),
      extra: 'parameters:\n  hold: {type: number}\n  name: {type: string}\n',
    },
  });
  await registerPack(db.prisma, hostile);
  await registerPack(db.prisma, victim);
  const keys = new KeyRepository({
    prisma: db.prisma,
    encryptionKey: EncryptionKey.fromPassword(KEY),
    logger: pino({ level: 'silent' }),
  });
  await keys.create({
    owner: { type: 'pack', pack: 'victim' },
    name: 'token',
    value: VICTIM_SECRET,
    encrypted: true,
  });

  // The API, as its own process with the key in its environment.
  apiProc = spawn(process.execPath, [join(FIXTURES, 'start-api.mjs')], {
    env: workerEnv({ ATTUNE__API__PORT: '0' }),
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: fileURLToPath(new URL('..', import.meta.url)),
  });
  processes.add(apiProc);
  let apiOut = '';
  apiProc.stdout?.on('data', (c: Buffer) => {
    apiOut += c;
  });
  apiProc.stderr?.on('data', (c: Buffer) => {
    apiOut += c;
  });
  await waitUntil('the API to listen', async () => apiOut.includes('listening') || undefined, 60_000).catch(
    () => {
      throw new Error(`the API did not start:\n${apiOut}`);
    },
  );
});

afterAll(async () => {
  for (const p of processes) p.kill('SIGKILL');
  // What the victims of the unconfined runs left in the host's shared folders.
  for (const dir of ['/tmp', '/var/tmp', '/dev/shm']) {
    for (const entry of readdirSync(dir))
      if (entry.includes(TOKEN)) rmSync(join(dir, entry), { force: true });
  }
  for (const b of brokers) await b.remove().catch(() => undefined);
  for (const dir of [privateDir, packRoot]) if (dir) rmSync(dir, { recursive: true, force: true });
  await db?.drop();
});

/** A worker's environment: the key, the database and the broker in clear, as the issue's attacker found them. */
function workerEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    DATABASE_URL: databaseUrl(),
    AMQP_URL,
    ATTUNE__SECURITY__ENCRYPTION_KEY: KEY,
    ATTUNE_CONFIG: configFile,
    ...extra,
  };
}

function startWorker(id: string, mode: string, extra: Record<string, string> = {}): Worker {
  const broker = isolatedBroker(`iso-${id}`, AMQP_URL);
  brokers.push(broker);
  const env = workerEnv({
    ...broker.env,
    AMQP_URL,
    ATTUNE__BROKER__RECONNECT_MAX_MS: '1000',
    ATTUNE__WORKER__ID: `${id}-${TOKEN}`,
    ATTUNE__WORKER__HEARTBEAT_INTERVAL_MS: '300',
    ATTUNE__WORKER__STALE_AFTER_MS: '1500',
    ATTUNE__WORKER__HTTP_PORT: '0',
    ATTUNE__WORKER__ISOLATION: mode,
    ATTUNE__WORKER__SCRATCH_DIR: TEST_SCRATCH_BASE,
    ATTUNE__WORKER__KILL_GRACE_MS: '500',
    ...extra,
  });
  // An empty value in `extra` removes the variable.
  for (const [name, value] of Object.entries(env)) if (value === '') delete env[name];
  let output = '';
  const proc = spawn(process.execPath, [BIN, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  processes.add(proc);
  proc.stdout?.on('data', (c: Buffer) => {
    output += c;
  });
  proc.stderr?.on('data', (c: Buffer) => {
    output += c;
  });
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => {
      processes.delete(proc);
      resolve(code);
    }),
  );
  return {
    id: `${id}-${TOKEN}`,
    proc,
    broker,
    output: () => output,
    exited,
    port: async () => {
      const m = await waitUntil(
        `worker ${id} to listen`,
        async () => /"port":(\d+)/.exec(output) ?? undefined,
        90_000,
      ).catch(() => {
        throw new Error(`worker ${id} did not start:\n${output}`);
      });
      return Number(m[1]);
    },
  };
}

async function waitUntil<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await fn();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function enqueue(worker: Worker, actionRef: string, params: object = {}): Promise<bigint> {
  const publisher = new ExecutionPublisher(worker.broker.config);
  try {
    return await enqueueExecution(db.prisma, (m) => publisher.publish(m), actionRef, params);
  } finally {
    await publisher.close();
  }
}

type Row = Awaited<ReturnType<typeof db.prisma.execution.findUniqueOrThrow>>;

async function finished(id: bigint, timeoutMs = 90_000): Promise<Row> {
  return waitUntil(
    `execution ${id} to end`,
    async () => {
      const row = await db.prisma.execution.findUniqueOrThrow({ where: { id } });
      return ['requested', 'scheduled', 'running'].includes(row.status) ? undefined : row;
    },
    timeoutMs,
  );
}

async function runOn(worker: Worker, actionRef: string, params: object = {}): Promise<Row> {
  return finished(await enqueue(worker, actionRef, params));
}

interface ProbeResult {
  pid: number;
  uid: number;
  parents: number[];
  procs: Record<string, { environ?: string; cmdline?: string; mem?: string; fds?: Record<string, string> }>;
  files: Record<string, string>;
  walked: Record<string, string>;
  rounds: number[];
}

/** Everything the probe read, decoded: where a leak would show. */
function loot(result: ProbeResult): string {
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

const DB_PASSWORD = `dbpw${TOKEN}`;
/**
 * The test database's URL with a password in it (the loopback server trusts local connections and never asks for
 * it): the credential of DATABASE_URL. Its database name is no secret: PostgreSQL shows it in its process titles.
 */
function databaseUrl(): string {
  const url = new URL(db.url as string);
  url.password = DB_PASSWORD;
  return url.toString();
}
/** What must never reach an action: the key, the database and the broker credentials of the worker and the API. */
const needles = () => [KEY, DB_PASSWORD, `amqp${TOKEN}`];

function probeParams(worker: Worker) {
  return {
    watch: [worker.proc.pid, apiProc?.pid, helperPid(worker.proc.pid as number)].filter(
      (p) => p !== undefined,
    ),
    paths: [
      configFile,
      keyFile,
      '/proc/1/environ',
      `/proc/${worker.proc.pid}/environ`,
      `/proc/${apiProc?.pid}/environ`,
    ],
    walk: [privateDir, TEST_SCRATCH_BASE, '/tmp'],
  };
}

async function readiness(port: number): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

/** The spawn helper of a worker process: its child named attune-spawn-helper. */
function helperPid(workerPid: number): number | undefined {
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
function executionFolders(root: string): string[] {
  return readdirSync(root).filter((e) => /^\d+-[0-9a-f]+$/.test(e));
}

/** Host processes whose command line mentions `text`. */
function processesWith(text: string): number[] {
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

describe('the unconfined mode (none), as the control', () => {
  it("lets a hostile action read the worker's and the API's key, memory and files — what the other modes must prevent", async () => {
    const w = startWorker('none', 'none');
    const port = await w.port();
    expect(w.output()).toContain('ACTION ISOLATION IS OFF');
    expect((await readiness(port)).body.isolation).toMatchObject({ mode: 'none' });
    const row = await runOn(w, 'hostile.probe', probeParams(w));
    expect(row.status, row.stderr ?? '').toBe('succeeded');
    const result = row.result as unknown as ProbeResult;
    const found = loot(result);
    for (const needle of needles()) expect(found).toContain(needle);
    expect(result.procs[String(w.proc.pid)]?.mem).toMatch(/^READ [1-9]/);
    expect(result.procs[String(apiProc?.pid)]?.environ).not.toMatch(/^ERR/);
    w.proc.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  });

  it('lets two actions of different packs read each other, and what one leaves behind', async () => {
    const w = startWorker('none-pair', 'none');
    await w.port();
    const name = `left-${TOKEN}-none.txt`;
    const [victim, thief] = await Promise.all([
      runOn(w, 'victim.victim', { hold: 4, name }),
      (async () => {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        return runOn(w, 'hostile.probe', { paths: [`/tmp/${name}`], walk: [], rounds: 3, pause: 0.5 });
      })(),
    ]);
    expect(victim.status).toBe('succeeded');
    expect(loot(thief.result as unknown as ProbeResult)).toContain(VICTIM_SECRET);
    w.proc.kill('SIGTERM');
    await w.exited;
  });
});

for (const { mode, skip } of [SANDBOX, USER].filter((m) => m !== undefined)) {
  describe.skipIf(skip !== undefined)(
    `isolation ${mode}${skip ? ` (not available here: ${skip})` : ''}`,
    () => {
      let w: Worker;
      let port: number;

      beforeAll(async () => {
        w = startWorker(mode, mode);
        port = await w.port();
      });

      afterAll(async () => {
        w?.proc.kill('SIGTERM');
        await w?.exited;
      });

      it('states its mode at start and in /readyz', async () => {
        expect(w.output()).toContain(`action isolation: ${mode}:`);
        expect(w.output()).not.toContain('ACTION ISOLATION IS OFF');
        // Ready once it consumes from the broker.
        const ready = await waitUntil('ready', async () => {
          const r = await readiness(port);
          return r.status === 200 ? r : undefined;
        });
        expect(ready.body.isolation).toMatchObject({ mode });
        expect((ready.body.isolation as { uid: number }).uid).not.toBe(0);
      });

      it("gives a hostile action nothing of the worker's or the API's environment, memory or files", async () => {
        const row = await runOn(w, 'hostile.probe', probeParams(w));
        expect(row.status, row.stderr ?? '').toBe('succeeded');
        const result = row.result as unknown as ProbeResult;
        expect(result.uid).not.toBe(0);
        const found = loot(result);
        for (const needle of needles()) expect(found).not.toContain(needle);
        for (const pid of [w.proc.pid, apiProc?.pid, helperPid(w.proc.pid as number), process.pid]) {
          const seen = result.procs[String(pid)];
          if (mode === 'sandbox') {
            // A PID namespace of its own: the worker, the API and the test runner are not even there.
            expect(seen).toBeUndefined();
          } else {
            expect(seen?.environ).toMatch(/^ERR/);
            expect(seen?.mem).toMatch(/^ERR/);
          }
        }
        for (const file of [configFile, keyFile]) expect(result.files[file]).toMatch(/^ERR/);
        if (mode === 'sandbox') {
          // Its parents end at the sandbox's own init; nothing of the host's process table is visible.
          expect(result.parents.at(-1)).toBe(1);
          expect(Object.keys(result.procs).length).toBeLessThan(5);
        }
      });

      it('runs an action that declares network: false only where the network can be cut off', async () => {
        const target = { host: '127.0.0.1', port: 5432 };
        const online = await runOn(w, 'hostile.online', target);
        expect(online.stdout).toBe('connected\n');
        const offline = await runOn(w, 'hostile.offline', target);
        if (mode === 'sandbox') {
          expect(offline.status).toBe('succeeded');
          expect(offline.stdout).toMatch(/^no connection: /);
        } else {
          expect(offline.status).toBe('failed');
          expect(offline.stderr).toContain('declares network: false, which needs worker.isolation sandbox');
        }
      });

      it('removes a booby-trapped scratch folder without touching anything outside it', async () => {
        // Files the action's identity may not delete, and a process of the action swapping folders of its scratch
        // with symlinks to them while the worker removes it.
        const target = mkdtempSync(join(tmpdir(), `attune-target-${mode}-`));
        chmodSync(target, 0o755);
        for (let i = 0; i < 20; i++) writeFileSync(join(target, `f${String(i).padStart(2, '0')}`), 'keep\n');
        const names = readdirSync(target);
        const row = await runOn(w, 'hostile.rmrace', { target, names, seconds: 5 });
        expect(row.status, row.stderr ?? '').toBe('succeeded');
        expect(readdirSync(target)).toHaveLength(20);
        expect(executionFolders(join(TEST_SCRATCH_BASE, `w-${w.id}`))).toEqual([]);
        // The swapping process did not outlive the execution.
        expect(processesWith('rmrace.py')).toEqual([]);
        rmSync(target, { recursive: true, force: true });
      });

      it('leaves no process of an action behind to spy on the actions that come after it', async () => {
        const loot = `/tmp/attune-loot-${mode}-${TOKEN}.txt`;
        const implant = await runOn(w, 'hostile.implant', { loot, seconds: 30 });
        expect(implant.status, implant.stderr ?? '').toBe('succeeded');
        expect(implant.stdout).toBe('implanted\n');
        expect(processesWith('implant.py')).toEqual([]);
        const victim = await runOn(w, 'victim.victim', { hold: 1, name: `after-implant-${TOKEN}.txt` });
        expect(victim.status).toBe('succeeded');
        expect(existsSync(loot) ? readFileSync(loot, 'utf8') : '').not.toContain(VICTIM_SECRET);
        rmSync(loot, { force: true });
      });

      it('removes a scratch folder deeper than PATH_MAX', async () => {
        const row = await runOn(w, 'hostile.deep');
        expect(row.status, row.stderr ?? '').toBe('succeeded');
        expect(executionFolders(join(TEST_SCRATCH_BASE, `w-${w.id}`))).toEqual([]);
      });
    },
  );
}

describe.skipIf(SANDBOX?.skip !== undefined)('the sandbox between actions', () => {
  let w: Worker;

  beforeAll(async () => {
    w = startWorker('pair', 'sandbox', { ATTUNE__WORKER__CONCURRENCY: '4' });
    await w.port();
  });

  afterAll(async () => {
    w?.proc.kill('SIGTERM');
    await w?.exited;
  });

  it("keeps two running actions of different packs out of each other's environment, argv and files", async () => {
    const name = `left-${TOKEN}-pair.txt`;
    const [victim, thief] = await Promise.all([
      runOn(w, 'victim.victim', { hold: 4, name }),
      (async () => {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        return runOn(w, 'hostile.probe', {
          paths: [`/tmp/${name}`, `/dev/shm/${name}`, `/var/tmp/${name}`],
          walk: ['/tmp', '/scratch', TEST_SCRATCH_BASE],
          rounds: 3,
          pause: 0.5,
        });
      })(),
    ]);
    expect(victim.status, victim.stderr ?? '').toBe('succeeded');
    expect(thief.status, thief.stderr ?? '').toBe('succeeded');
    const v = JSON.parse(victim.stdout as string) as {
      started: number;
      ended: number;
      wrote: Record<string, unknown>;
    };
    const t = thief.result as unknown as ProbeResult;
    // They did run at once: the thief's rounds fall inside the victim's run.
    expect(t.rounds.some((at) => at > v.started && at < v.ended)).toBe(true);
    // The victim could write to its scratch, its tmp and /tmp (its own), but not where others could look.
    expect(v.wrote[`/tmp/${name}`]).toBe(true);
    expect(loot(t)).not.toContain(VICTIM_SECRET);
  });

  it('leaves nothing an action wrote for the next action, nor on the host', async () => {
    const name = `left-${TOKEN}-after.txt`;
    const victim = await runOn(w, 'victim.victim', { name });
    expect(victim.status).toBe('succeeded');
    const thief = await runOn(w, 'hostile.probe', {
      paths: [`/tmp/${name}`, `/dev/shm/${name}`, `/var/tmp/${name}`, `/scratch/${name}`],
      walk: ['/tmp', '/scratch'],
    });
    expect(loot(thief.result as unknown as ProbeResult)).not.toContain(VICTIM_SECRET);
    // On the host: no such file anywhere the victim could reach, and no scratch folder left.
    for (const place of ['/tmp', '/var/tmp', '/dev/shm']) expect(existsSync(join(place, name))).toBe(false);
    const scratch = join(TEST_SCRATCH_BASE, `w-${w.id}`);
    expect(executionFolders(scratch)).toEqual([]);
  });

  it('removes scratch folders when the worker stops mid-run, and what a killed worker left when it restarts', async () => {
    const stopping = startWorker('scratch-stop', 'sandbox', { ATTUNE__WORKER__SHUTDOWN_GRACE_MS: '300' });
    await stopping.port();
    const scratch = join(TEST_SCRATCH_BASE, `w-${stopping.id}`);
    const id = await enqueue(stopping, `hostile.${SLEEPER}`);
    await waitUntil('the sleeper to run', async () =>
      readdirSync(scratch).some((e) => e.startsWith(`${id}-`)) ? true : undefined,
    );
    stopping.proc.kill('SIGTERM');
    expect(await stopping.exited).toBe(0);
    expect((await db.prisma.execution.findUniqueOrThrow({ where: { id } })).status).toBe('cancelled');
    expect(existsSync(scratch)).toBe(false);

    const killed = startWorker('scratch-kill', 'sandbox');
    await killed.port();
    const killedScratch = join(TEST_SCRATCH_BASE, `w-${killed.id}`);
    const id2 = await enqueue(killed, `hostile.${SLEEPER}`);
    await waitUntil('the sleeper to run', async () =>
      readdirSync(killedScratch).some((e) => e.startsWith(`${id2}-`)) ? true : undefined,
    );
    killed.proc.kill('SIGKILL');
    await killed.exited;
    // Until its heartbeat is stale, the database would take a restart for a second live worker with its id.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    // Its helper saw its pipe close and killed the action; the folder is still there until a restart.
    await waitUntil('the sleeper to die with its worker', async () =>
      processesWith(`${SLEEPER}.py`).length === 0 ? true : undefined,
    );
    expect(readdirSync(killedScratch).some((e) => e.startsWith(`${id2}-`))).toBe(true);
    const again = startWorker('scratch-kill', 'sandbox');
    await again.port();
    expect(executionFolders(killedScratch)).toEqual([]);
    again.proc.kill('SIGTERM');
    await again.exited;
  });
});

describe('the encryption key out of reach', () => {
  it('reads security.encryption_key_file, and refuses one that others can read', async () => {
    const mode = SANDBOX?.skip === undefined ? 'sandbox' : USER?.skip === undefined ? 'user' : 'none';
    const w = startWorker('keyfile', mode, {
      ATTUNE__SECURITY__ENCRYPTION_KEY: '',
      ATTUNE_CONFIG: '',
      ATTUNE__SECURITY__ENCRYPTION_KEY_FILE: keyFile,
    });
    await w.port();
    expect(w.output()).toMatch(/"source":"file".*encryption key loaded/);
    const row = await runOn(w, 'victim.victim', { name: `keyfile-${TOKEN}.txt` });
    // The secret was decrypted with the key from the file and handed to the action.
    expect(row.status, row.stderr ?? '').toBe('succeeded');
    expect(JSON.parse(row.stdout as string).wrote).toBeDefined();
    expect(row.warnings).toEqual([]);
    if (mode !== 'none') {
      const probe = await runOn(w, 'hostile.probe', probeParams(w));
      expect((probe.result as unknown as ProbeResult).files[keyFile]).toMatch(/^ERR/);
      expect(loot(probe.result as unknown as ProbeResult)).not.toContain(KEY);
    }
    w.proc.kill('SIGTERM');
    await w.exited;

    const shared = join(privateDir, 'shared.key');
    writeFileSync(shared, `${KEY}\n`);
    chmodSync(shared, 0o644);
    const refused = startWorker('keyfile-bad', 'none', {
      ATTUNE__SECURITY__ENCRYPTION_KEY: '',
      ATTUNE_CONFIG: '',
      ATTUNE__SECURITY__ENCRYPTION_KEY_FILE: shared,
    });
    expect(await refused.exited).toBe(2);
    expect(refused.output()).toContain(`chmod 600 ${shared}`);
    expect(refused.output()).not.toContain(KEY);
  });
});

describe('modes a configuration requires', () => {
  it('refuses to start without the required sandbox, saying what to install', async () => {
    const w = startWorker('needs-sandbox', 'sandbox', { PATH: '/nonexistent' });
    expect(await w.exited).toBe(2);
    expect(w.output()).toMatch(
      /bubblewrap \(bwrap\) is not installed: install bubblewrap \(Debian\/Ubuntu: apt-get install bubblewrap/,
    );
  });

  it('refuses an identity that does not exist or is root', async () => {
    const ghost = startWorker('ghost', 'none', { ATTUNE__WORKER__RUN_AS: 'no-such-user-attune' });
    expect(await ghost.exited).toBe(2);
    expect(ghost.output()).toContain(
      'worker.run_as: there is no user no-such-user-attune on this host; create it',
    );
    const root = startWorker('as-root', 'none', { ATTUNE__WORKER__RUN_AS: '0' });
    expect(await root.exited).toBe(2);
    expect(root.output()).toContain('worker.run_as: actions must not run as root');
  });
});

describe('the spawn helper, supervised', () => {
  it('fails what ran on a dead helper at once, restarts it, and stops taking work when it keeps dying', async () => {
    const mode = SANDBOX?.skip === undefined ? 'sandbox' : USER?.skip === undefined ? 'user' : 'none';
    const w = startWorker('helper', mode, { ATTUNE__WORKER__SHUTDOWN_GRACE_MS: '2000' });
    const port = await w.port();
    const workerPid = w.proc.pid as number;
    const id = await enqueue(w, `hostile.${SLEEPER}`);
    await waitUntil('the sleeper to run', async () =>
      processesWith(`${SLEEPER}.py`).length > 0 ? true : undefined,
    );
    const helper = helperPid(workerPid) as number;
    expect(helper).toBeGreaterThan(0);
    const killedAt = Date.now();
    process.kill(helper, 'SIGKILL');
    const row = await finished(id, 20_000);
    expect(Date.now() - killedAt).toBeLessThan(10_000); // at once, not at the action's 60 s timeout
    expect(row.status).toBe('failed');
    expect(row.stderr).toContain(
      'The spawn helper died (SIGKILL) while the action ran; the action was stopped.',
    );
    await waitUntil(
      'the action to be gone',
      async () => (processesWith(`${SLEEPER}.py`).length === 0 ? true : undefined),
      10_000,
    );
    expect(w.output()).toContain('spawn helper died');

    // A new helper serves the next execution.
    const next = await runOn(w, 'hostile.quick');
    expect(next.status).toBe('succeeded');
    expect(helperPid(workerPid)).not.toBe(helper);
    expect((await readiness(port)).status).toBe(200);

    // Two more deaths within the minute: not ready, and no longer taking executions.
    for (let i = 0; i < 2; i++) {
      await runOn(w, 'hostile.quick');
      process.kill(helperPid(workerPid) as number, 'SIGKILL');
      await waitUntil('the helper to be gone', async () =>
        helperPid(workerPid) === undefined ? true : undefined,
      );
    }
    const notReady = await waitUntil('not ready, and paused', async () => {
      const r = await readiness(port);
      return r.status === 503 && r.body.broker === 'paused' ? r : undefined;
    });
    expect(notReady.body).toMatchObject({ ready: false, spawner: { ok: false } });
    expect((notReady.body.spawner as { problem: string }).problem).toMatch(
      /the spawn helper died 3 times in the last 60 s/,
    );
    const queued = await enqueue(w, 'hostile.quick');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await db.prisma.execution.findUniqueOrThrow({ where: { id: queued } })).status).toBe('requested');

    // Shutdown still completes.
    w.proc.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  });
});
