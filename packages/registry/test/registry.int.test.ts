import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SYSTEM_ACTOR, silentLogger } from '@attune/core';
import { createTestDatabase, type TestDatabase } from '@attune/db/testing';
import { createSecretsServices } from '@attune/secrets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidPackError, loadPack, PackConflictError, PackStore, registerPack } from '../src/index.js';

const EXAMPLES = fileURLToPath(new URL('../../../packs/examples', import.meta.url));
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

function copyDir(from: string): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'attune-pack-')), 'copy');
  cpSync(from, dir, { recursive: true });
  return dir;
}

function copyExamples(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'attune-pack-')), 'examples');
  cpSync(EXAMPLES, dir, { recursive: true });
  return dir;
}

describe('pack registration', () => {
  it('registers the example pack, then reports nothing changed, then reports what changed', async () => {
    const dir = copyExamples();
    const first = await registerPack(db.prisma, dir);
    expect(first.pack).toMatchObject({ ref: 'examples', change: 'created' });
    expect(first.actions.created.sort()).toEqual(['examples.check', 'examples.report']);
    const again = await registerPack(db.prisma, dir);
    expect(again.pack.change).toBe('unchanged');
    expect(again.actions.unchanged.sort()).toEqual(['examples.check', 'examples.report']);
    const file = join(dir, 'actions', 'check.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('timeout: 10', 'timeout: 15'));
    rmSync(join(dir, 'actions', 'report.yaml'));
    const changed = await registerPack(db.prisma, dir);
    expect(changed.actions).toEqual({
      created: [],
      updated: ['examples.check'],
      unchanged: [],
      removed: ['examples.report'],
    });
    const action = await db.prisma.action.findUniqueOrThrow({ where: { ref: 'examples.check' } });
    expect(action).toMatchObject({
      timeoutSeconds: 15,
      runnerType: 'shell',
      entryPoint: 'check.sh',
      expectedSecrets: [
        { name: 'api_key', required: false },
        { name: 'db-password', required: false },
      ],
      secretsPolicy: null,
    });
    expect(action.parameters).toEqual({ host: { type: 'string', default: 'db.internal' } });
  });

  it('stores declared secrets (required or not) and the secrets policy of the pack and of each action', async () => {
    const dir = copyExamples();
    edit(dir, 'pack.yaml', 'ref: examples', 'ref: policied\nsecrets_policy: declared');
    edit(dir, 'actions/check.yaml', '  - api_key\n', '  - name: api_key\n    required: true\n');
    writeFileSync(
      join(dir, 'actions', 'report.yaml'),
      `${readFileSync(join(dir, 'actions', 'report.yaml'), 'utf8')}secrets_policy: all\n`,
    );
    const first = await registerPack(db.prisma, dir);
    expect(first.actions.created.sort()).toEqual(['policied.check', 'policied.report']);
    const pack = await db.prisma.pack.findUniqueOrThrow({ where: { ref: 'policied' } });
    expect(pack.secretsPolicy).toBe('declared');
    const check = await db.prisma.action.findUniqueOrThrow({ where: { ref: 'policied.check' } });
    expect([check.secretsPolicy, check.expectedSecrets]).toEqual([
      null,
      [
        { name: 'api_key', required: true },
        { name: 'db-password', required: false },
      ],
    ]);
    const report = await db.prisma.action.findUniqueOrThrow({ where: { ref: 'policied.report' } });
    expect(report.secretsPolicy).toBe('all');
    // Delivery: env by default; file with its format (json by default); stdin.
    expect([check.secretsDelivery, check.secretsFileFormat]).toEqual(['env', null]);
    for (const [extra, expected] of [
      ['secrets_delivery: file\n', ['file', 'json']],
      ['secrets_delivery: file\nsecrets_file_format: dotenv\n', ['file', 'dotenv']],
      ['secrets_delivery: stdin\n', ['stdin', null]],
    ] as const) {
      const variant = copyDir(dir);
      edit(variant, 'pack.yaml', 'ref: policied', 'ref: delivered');
      writeFileSync(
        join(variant, 'actions', 'check.yaml'),
        `${readFileSync(join(variant, 'actions', 'check.yaml'), 'utf8')}${extra}`,
      );
      await registerPack(db.prisma, variant);
      const action = await db.prisma.action.findUniqueOrThrow({ where: { ref: 'delivered.check' } });
      expect([action.secretsDelivery, action.secretsFileFormat], extra).toEqual(expected);
    }
    // Changing a policy or a required flag is a change; the same metadata again is not.
    expect((await registerPack(db.prisma, dir)).actions.unchanged).toHaveLength(2);
    edit(dir, 'actions/check.yaml', 'required: true', 'required: false');
    edit(dir, 'pack.yaml', 'secrets_policy: declared', 'secrets_policy: all');
    const changed = await registerPack(db.prisma, dir);
    expect([changed.pack.change, changed.actions.updated]).toEqual(['updated', ['policied.check']]);
    // Bad declarations name the file and the field.
    for (const [file, from, to, message] of [
      [
        'pack.yaml',
        'secrets_policy: all',
        'secrets_policy: some',
        /^pack\.yaml: secrets_policy: must be 'all' or 'declared'$/,
      ],
      [
        'actions/report.yaml',
        'secrets_policy: all',
        'secrets_policy: none',
        /^actions\/report\.yaml: secrets_policy: must be 'all' or 'declared'$/,
      ],
      ['actions/check.yaml', 'required: false', 'required: "yes"', /^actions\/check\.yaml: secrets\.0/],
      [
        'actions/check.yaml',
        'timeout: 10',
        'timeout: 10\nsecrets_delivery: pigeon',
        /^actions\/check\.yaml: secrets_delivery: must be 'env', 'file' or 'stdin'$/,
      ],
      [
        'actions/check.yaml',
        'timeout: 10',
        'timeout: 10\nsecrets_file_format: dotenv',
        /^actions\/check\.yaml: secrets_file_format: applies only with secrets_delivery: file$/,
      ],
      [
        'actions/check.yaml',
        '  - db-password',
        '  - db_password\n  - db-password',
        /^actions\/check\.yaml: secrets\[2\]: 'db-password' and 'db_password' are one secret \(SECRET_DB_PASSWORD\): declare it once$/,
      ],
    ] as const) {
      const bad = copyDir(dir);
      edit(bad, file, from, to);
      const error = await registerPack(db.prisma, bad).catch((e: unknown) => e);
      expect(error, to).toBeInstanceOf(InvalidPackError);
      expect((error as Error).message, to).toMatch(message);
    }
  });

  it('names the file and field of bad metadata and registers nothing of the pack', async () => {
    const cases: Array<[string, (dir: string) => void, RegExp]> = [
      [
        'bad runner',
        (d) => edit(d, 'actions/check.yaml', 'runner_type: shell', 'runner_type: perl'),
        /^actions\/check\.yaml: runner_type: must be 'python' or 'shell'$/,
      ],
      [
        'missing entry point file',
        (d) => edit(d, 'actions/check.yaml', 'entry_point: check.sh', 'entry_point: nope.sh'),
        /actions\/check\.yaml: entry_point: 'nope\.sh' does not exist/,
      ],
      [
        'escaping entry point',
        (d) => edit(d, 'actions/check.yaml', 'entry_point: check.sh', 'entry_point: ../pack.yaml'),
        /entry_point: '\.\.\/pack\.yaml' is outside/,
      ],
      [
        'bad default',
        (d) => edit(d, 'actions/check.yaml', 'default: db.internal', 'default: 42'),
        /parameters\.host\.default: does not match its type 'string'/,
      ],
      [
        'bad secret name',
        (d) => edit(d, 'actions/check.yaml', '- api_key', '- api key'),
        /actions\/check\.yaml: secrets\[0\]: .*contains a space/,
      ],
      [
        'missing version',
        (d) => edit(d, 'pack.yaml', 'version: 1.0.0\n', ''),
        /^pack\.yaml: version: is required$/,
      ],
      [
        'unknown field',
        (d) => edit(d, 'actions/report.yaml', 'timeout: 30', 'timeout: 30\ntimout: 5'),
        /actions\/report\.yaml: unknown field\(s\) timout/,
      ],
      [
        'invalid yaml',
        (d) => edit(d, 'actions/report.yaml', 'name: report', 'name: [report'),
        /actions\/report\.yaml: is not valid YAML/,
      ],
      [
        'actions/ a symlink out of the pack',
        (d) => {
          const outside = mkdtempSync(join(tmpdir(), 'attune-outside-'));
          cpSync(join(d, 'actions'), outside, { recursive: true });
          rmSync(join(d, 'actions'), { recursive: true });
          symlinkSync(outside, join(d, 'actions'));
        },
        /^actions: is a symlink to a folder outside the pack$/,
      ],
      [
        'metadata file a symlink out of the pack',
        (d) => {
          const outside = join(mkdtempSync(join(tmpdir(), 'attune-outside-')), 'check.yaml');
          cpSync(join(d, 'actions', 'check.yaml'), outside);
          rmSync(join(d, 'actions', 'check.yaml'));
          symlinkSync(outside, join(d, 'actions', 'check.yaml'));
        },
        /^actions\/check\.yaml: is a symlink to a file outside the pack$/,
      ],
      [
        'huge metadata',
        (d) => writeFileSync(join(d, 'actions', 'report.yaml'), `name: report\n# ${'x'.repeat(70_000)}\n`),
        /^actions\/report\.yaml: is \d+ bytes; metadata files may hold at most 65536$/,
      ],
      [
        'huge pack.yaml',
        (d) => writeFileSync(join(d, 'pack.yaml'), `ref: badpack\n# ${'x'.repeat(70_000)}\n`),
        /^pack\.yaml: is \d+ bytes; metadata files may hold at most 65536$/,
      ],
      [
        // A FIFO would block a plain read forever: registration must refuse it, not hang.
        'metadata file a FIFO',
        (d) => {
          rmSync(join(d, 'actions', 'report.yaml'));
          execFileSync('mkfifo', [join(d, 'actions', 'report.yaml')]);
        },
        /^actions\/report\.yaml: is not a regular file$/,
      ],
      [
        'pack.yaml a symlink to a device',
        (d) => {
          rmSync(join(d, 'pack.yaml'));
          symlinkSync('/dev/zero', join(d, 'pack.yaml'));
        },
        /^pack\.yaml: is a symlink to a file outside the pack$/,
      ],
      [
        'NUL in a description',
        (d) => edit(d, 'actions/report.yaml', 'description: Calls', 'description: "a\\0b"\nx: Calls'),
        /^actions\/report\.yaml: description: holds a NUL character$/,
      ],
      [
        'unpaired surrogate in a parameter description',
        (d) => edit(d, 'actions/check.yaml', 'type: string', 'type: string\n    description: "x\\uD800y"'),
        /^actions\/check\.yaml: parameters\.\w+\.description: holds an unpaired UTF-16 surrogate$/,
      ],
      [
        'NUL in a key',
        (d) => edit(d, 'pack.yaml', 'ref: badpack', 'ref: badpack\n"x\\0": 1'),
        /^pack\.yaml: has a key that holds a NUL character$/,
      ],
      [
        'not UTF-8',
        (d) =>
          writeFileSync(join(d, 'actions', 'report.yaml'), Buffer.from([0x6e, 0x3a, 0x20, 0xff, 0xfe, 0x0a])),
        /^actions\/report\.yaml: is not UTF-8 text$/,
      ],
    ];
    for (const [label, mutate, message] of cases) {
      const dir = join(mkdtempSync(join(tmpdir(), 'attune-bad-')), 'badpack');
      cpSync(EXAMPLES, dir, { recursive: true });
      edit(dir, 'pack.yaml', 'ref: examples', 'ref: badpack');
      mutate(dir);
      const error = await registerPack(db.prisma, dir).catch((e: unknown) => e);
      expect(error, label).toBeInstanceOf(InvalidPackError);
      expect((error as Error).message, label).toMatch(message);
      expect(await db.prisma.pack.count({ where: { ref: 'badpack' } }), label).toBe(0);
    }
    expect(() => loadPack('/no/such/folder')).toThrow(/no such folder/);
    // A symlinked actions/ folder inside the pack is fine.
    const inner = copyExamples();
    mkdirSync(join(inner, 'lib'));
    cpSync(join(inner, 'actions'), join(inner, 'lib', 'actions'), { recursive: true });
    rmSync(join(inner, 'actions'), { recursive: true });
    symlinkSync(join(inner, 'lib', 'actions'), join(inner, 'actions'));
    expect(loadPack(inner).actions.map((a) => a.name)).toEqual(['check', 'report']);
  });

  it('refuses to remove an action that still owns keys, and registers nothing', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'attune-keep-')), 'keeper');
    cpSync(EXAMPLES, dir, { recursive: true });
    edit(dir, 'pack.yaml', 'ref: examples', 'ref: keeper');
    await registerPack(db.prisma, dir);
    const { keys } = createSecretsServices({
      prisma: db.prisma,
      sql: db.sql,
      owners: new PackStore(db.prisma),
      security: { keyring: [], activeKeyId: undefined },
      logger: silentLogger(),
    });
    await keys.create(SYSTEM_ACTOR, {
      owner: { type: 'action', action: 'keeper.report' },
      name: 'token',
      value: 'v',
    });
    rmSync(join(dir, 'actions', 'report.yaml'));
    edit(dir, 'pack.yaml', 'version: 1.0.0', 'version: 1.1.0');
    const error = await registerPack(db.prisma, dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PackConflictError);
    expect((error as Error).message).toContain(
      'keeper.report is no longer in the pack but still owns 1 key(s)',
    );
    expect((await db.prisma.pack.findUniqueOrThrow({ where: { ref: 'keeper' } })).version).toBe('1.0.0');
  });
});

function edit(dir: string, file: string, from: string, to: string): void {
  const path = join(dir, file);
  const text = readFileSync(path, 'utf8');
  if (!text.includes(from)) throw new Error(`fixture edit failed: ${from} not in ${file}`);
  writeFileSync(path, text.replace(from, to));
}
