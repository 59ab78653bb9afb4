/**
 * `pnpm bench` for @attune/api: what the audit log (docs/audit.md) costs on write throughput. Two APIs in this one
 * process, on one database and one broker, each with its own pool of 10 connections (`attune api`'s default): one
 * records every write in the audit log as the product does, with an audit HMAC key (`audit.hmac_key`: each written
 * value's HMAC recorded too, the costlier configuration), the other is given a log that records nothing (the bench's
 * `NoAudit`, a bench switch, not a product one). Eight clients at once send, over HTTP with fetch,
 * updates of encrypted values (PUT /api/v1/keys/{ref}, each client on keys of its own), creations of encrypted keys
 * (POST /api/v1/keys) and execution requests (POST /api/v1/executions, published to RabbitMQ), in rounds that
 * alternate the two APIs (and which one goes first); prints req/s and p50/p99 latency of each, and the median of
 * the rounds' on/off ratios against the target (audit costs ≤ 5%). Prints; does not assert.
 */

import { buildApi, createApiServices } from '@attune/api';
import { AuditLog } from '@attune/audit';
import { TokenService, TokenStore } from '@attune/auth';
import { ExecutionPublisher } from '@attune/broker';
import { isolatedBroker } from '@attune/broker/testing';
import { DEFAULT_AMQP_URL } from '@attune/config';
import { type Actor, silentLogger } from '@attune/core';
import { median, quantile as p } from '@attune/core/bench';
import { type Database, openDatabase } from '@attune/db';
import { createTestDatabase } from '@attune/db/testing';
import type { FastifyInstance } from 'fastify';

const CLIENTS = 8;
const ROUNDS = 12; // per side and workload, alternating which side goes first
const PER_ROUND = 300; // requests per round
const WARMUP = 150;
const KEYS_PER_CLIENT = 20; // the keys PUT updates: each client its own, so no two requests race for one key
const PASSWORD = 'api-bench-encryption-key-0123456789abcdef';
const security = {
  keyring: [{ id: 'default', password: PASSWORD, source: 'config' as const }],
  activeKeyId: 'default',
};
const HMAC_KEY = 'api-bench-audit-hmac-key-0123456789abcdef';
const operator: Actor = { type: 'cli', id: 'bench@bench', name: 'bench@bench' };
const logger = silentLogger();

/** The bench's "audit off": a log that records nothing. Never in product code. */
class NoAudit extends AuditLog {
  override async append(): Promise<void> {}
}

const isolated = isolatedBroker('apibench', process.env.AMQP_URL || DEFAULT_AMQP_URL);
const db = await createTestDatabase();
const publisher = new ExecutionPublisher(isolated.config);
const pools: Database[] = [];
const apps: FastifyInstance[] = [];
try {
  const pack = await db.prisma.pack.create({
    data: { ref: 'benchpack', label: 'bench', version: '1.0.0', path: '/nonexistent' },
  });
  await db.prisma.action.create({
    data: {
      ref: 'benchpack.deploy',
      packId: pack.id,
      name: 'deploy',
      runnerType: 'shell',
      entryPoint: 'deploy.sh',
      timeoutSeconds: 30,
    },
  });
  const token = (
    await new TokenService({ store: new TokenStore(db.prisma), logger }).create(operator, 'bench', ['admin'])
  ).token;

  const start = async (audit: AuditLog) => {
    const pool = await openDatabase({ kind: 'postgres', url: db.url as string, poolSize: 10 });
    pools.push(pool);
    const services = createApiServices({
      db: pool,
      security,
      publish: (m) => publisher.publish(m),
      logger,
      audit,
    });
    const app = await buildApi({
      ...services,
      logger,
      maxBodyBytes: 128 * 1024,
      rateLimitPerMinute: 10_000_000,
    });
    apps.push(app);
    return app.listen({ host: '127.0.0.1', port: 0 });
  };
  const bases = { on: await start(new AuditLog({ valueKey: HMAC_KEY })), off: await start(new NoAudit()) };

  const send = async (base: string, method: string, path: string, body: unknown, expect: number) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    await res.arrayBuffer();
    if (res.status !== expect) throw new Error(`${method} ${path}: ${res.status}, expected ${expect}`);
  };
  const value = (n: number) => `bench-secret-value-${n}-`.padEnd(48, 'x');
  const keyRef = (client: number, k: number) => `system.bench_c${client}_k${k}`;
  for (let c = 0; c < CLIENTS; c++)
    for (let k = 0; k < KEYS_PER_CLIENT; k++)
      await send(
        bases.on,
        'POST',
        '/api/v1/keys',
        { owner_type: 'system', name: `bench_c${c}_k${k}`, value: value(0), encrypted: true },
        201,
      );

  let serial = 0;
  /** One request of a workload, by client `c` (its `i`-th), on API `base`. */
  const workloads = {
    'PUT /keys/{ref} (update, encrypted)': (base: string, c: number, i: number) =>
      send(
        base,
        'PUT',
        `/api/v1/keys/${keyRef(c, i % KEYS_PER_CLIENT)}`,
        { value: value(++serial), encrypted: true },
        200,
      ),
    'POST /keys (create, encrypted)': (base: string) => {
      const name = `bench_new_${++serial}`;
      return send(
        base,
        'POST',
        '/api/v1/keys',
        { owner_type: 'system', name, value: value(serial), encrypted: true },
        201,
      );
    },
    'POST /executions (request)': (base: string) =>
      send(base, 'POST', '/api/v1/executions', { action_ref: 'benchpack.deploy', parameters: {} }, 202),
  } as const;

  /** `total` requests by {@link CLIENTS} clients at once; req/s and each request's latency. */
  const run = async (
    request: (base: string, c: number, i: number) => Promise<void>,
    base: string,
    total: number,
  ) => {
    let next = 0;
    const latencies: number[] = [];
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        for (let i = 0; next++ < total; i++) {
          const t = performance.now();
          await request(base, c, i);
          latencies.push(performance.now() - t);
        }
      }),
    );
    return { rate: total / ((performance.now() - started) / 1000), latencies };
  };

  type Side = 'on' | 'off';
  const results = new Map(
    Object.keys(workloads).map((name) => [
      name,
      {
        rates: { on: [] as number[], off: [] as number[] },
        latencies: { on: [] as number[], off: [] as number[] },
        ratios: [] as number[],
      },
    ]),
  );
  for (const request of Object.values(workloads))
    for (const side of ['on', 'off'] as const) await run(request, bases[side], WARMUP);
  for (let round = 0; round < ROUNDS; round++) {
    const order: readonly Side[] = round % 2 === 0 ? ['on', 'off'] : ['off', 'on'];
    for (const [name, request] of Object.entries(workloads)) {
      const r = results.get(name) as NonNullable<ReturnType<typeof results.get>>;
      const rate = { on: 0, off: 0 };
      for (const side of order) {
        const measured = await run(request, bases[side], PER_ROUND);
        rate[side] = measured.rate;
        r.rates[side].push(measured.rate);
        r.latencies[side].push(...measured.latencies);
      }
      r.ratios.push(rate.on / rate.off);
    }
  }
  const [events] = await db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM "attune"."audit_event"');

  const lines = [
    `@attune/api — write throughput with the audit log on vs off (NoAudit), ${CLIENTS} clients over HTTP, ` +
      `${ROUNDS} alternating rounds of ${PER_ROUND} requests per side; ${events?.n} audit events written by the on side and the set-up`,
    '',
    `${'workload'.padEnd(38)} ${'on req/s'.padStart(9)} ${'off req/s'.padStart(10)} ${'on/off'.padStart(7)}   ${'p50 on/off ms'.padStart(14)}   ${'p99 on/off ms'.padStart(14)}`,
  ];
  const verdicts: string[] = [];
  for (const [name, r] of results) {
    const ratio = median(r.ratios);
    const lat = (side: Side, q: number) => p(r.latencies[side], q).toFixed(1);
    lines.push(
      `${name.padEnd(38)} ${median(r.rates.on).toFixed(0).padStart(9)} ${median(r.rates.off).toFixed(0).padStart(10)} ` +
        `${`${ratio.toFixed(2)}×`.padStart(7)}   ${`${lat('on', 0.5)} / ${lat('off', 0.5)}`.padStart(14)}   ${`${lat('on', 0.99)} / ${lat('off', 0.99)}`.padStart(14)}`,
      `${''.padEnd(38)} on/off per round ${r.ratios.map((x) => x.toFixed(2)).join(' ')}`,
    );
    verdicts.push(
      `audit costs ≤ 5% of API write throughput, ${name} (on/off ≥ 0.95): ${ratio.toFixed(2)}× ${ratio >= 0.95 ? 'met' : 'MISSED'}`,
    );
  }
  lines.push(
    '',
    'req/s: median round of each side; on/off: median of the rounds’ ratios (each compares two runs back to back)',
    '',
    'targets:',
    ...verdicts.map((v) => `  ${v}`),
  );
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  for (const app of apps) await app.close();
  for (const pool of pools) await pool.close();
  await publisher.close();
  await isolated.remove().catch(() => undefined);
  await db.drop();
}
