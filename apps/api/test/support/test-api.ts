/**
 * Test support: the API as the HTTP test files start it — a database of the file's own with the pack `mypack`
 * (id 1, as the seed's curl example assumes) and its actions `mypack.deploy` and `mypack.report`, a broker topology
 * of the file's own, a server listening on a free loopback port, and one token per scope the tests need.
 */
import { AuditLog } from '@attune/audit';
import { TokenService, TokenStore } from '@attune/auth';
import { type BrokerConfig, ExecutionPublisher } from '@attune/broker';
import { isolatedBroker } from '@attune/broker/testing';
import { DEFAULT_AMQP_URL } from '@attune/config';
import { type Actor, silentLogger } from '@attune/core';
import { EncryptionKey } from '@attune/crypto';
import { createTestDatabase, type TestDatabase } from '@attune/db/testing';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { type ApiLimits, buildApi, createApiServices } from '../../src/index.js';
import { capturingApiLogger } from './log-lines.js';

/** The broker the tests use: AMQP_URL, else the default. */
export const AMQP_URL = process.env.AMQP_URL || DEFAULT_AMQP_URL;
/** Who creates the test tokens. */
export const operator: Actor = { type: 'cli', id: 'tester@test', name: 'tester@test' };

const PASSWORD = 'api-test-encryption-key-0123456789abcdef';
const AUDIT_HMAC_KEY = 'api-test-audit-hmac-key-0123456789abcdef';

/** The scopes of the named tokens every test API has (and `revoked`, an admin token that is revoked). */
const TOKEN_SCOPES: Readonly<Record<string, readonly string[]>> = {
  admin: ['admin'],
  read: ['keys:read'],
  readDecrypt: ['keys:read', 'keys:decrypt'],
  decryptOnly: ['keys:decrypt'],
  write: ['keys:write'],
  run: ['executions:run'],
  auditor: ['audit:read'],
};

export interface TestApiOptions {
  /** Labels this file's exchange and queues (`isolatedBroker`): one per test file. */
  readonly broker: string;
  /** The master key's password (default: the API suite's). */
  readonly password?: string;
  /** The audit log the services record in (default: one with the API suite's value HMAC key). */
  readonly audit?: AuditLog;
  /** Limits other than the suite's (an `undefined` one: the API's default). */
  readonly limits?: { readonly [K in keyof ApiLimits]?: ApiLimits[K] | undefined };
}

/** A response as the tests read it. */
export interface TestResponse {
  readonly status: number;
  readonly headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: the tests read response bodies of every shape
  readonly body: Record<string, any> | undefined;
}

/** A started test API and what the tests use around it. */
export interface TestApi {
  readonly db: TestDatabase;
  readonly app: FastifyInstance;
  /** The server's URL (`http://127.0.0.1:<port>`). */
  readonly base: string;
  readonly services: ReturnType<typeof createApiServices>;
  readonly publisher: ExecutionPublisher;
  /** This file's exchange and queues. */
  readonly broker: BrokerConfig;
  /** The master keys the services were given. */
  readonly security: Parameters<typeof createApiServices>[0]['security'];
  /** The master key, as the API derives it from the password. */
  readonly key: EncryptionKey;
  /** Every line the API logged. */
  readonly logLines: string[];
  /** The tokens by name: admin, read, readDecrypt, decryptOnly, write, run, auditor, revoked. */
  readonly tokens: Record<string, string>;
  /** Sends a request with `token` (if any) and `body` as JSON, or `raw` as the JSON body as is. */
  call(
    method: string,
    path: string,
    token: string | undefined,
    body?: unknown,
    raw?: string,
  ): Promise<TestResponse>;
  /** How many keys the database holds. */
  keyCount(): Promise<number>;
  /** Closes the server and the publisher, removes the broker topology and drops the database. */
  close(): Promise<void>;
}

/** Starts the API for one test file (in its `beforeAll`; `close()` in its `afterAll`). */
export async function startTestApi(options: TestApiOptions): Promise<TestApi> {
  const isolated = isolatedBroker(options.broker, AMQP_URL);
  const password = options.password ?? PASSWORD;
  const security = {
    keyring: [{ id: 'default', password, source: 'config' as const }],
    activeKeyId: 'default',
  };
  const logLines: string[] = [];
  const tokens: Record<string, string> = {};
  let db: TestDatabase | undefined;
  let app: FastifyInstance | undefined;
  let publisher: ExecutionPublisher | undefined;
  const close = async () => {
    await app?.close();
    await publisher?.close();
    await isolated.remove();
    await db?.drop();
  };
  try {
    db = await createTestDatabase();
    // The first pack of this fresh database gets id 1, as the seed's example assumes.
    const pack = await db.prisma.pack.create({
      data: { ref: 'mypack', label: 'My pack', version: '1.0.0', path: '/nonexistent' },
    });
    expect(pack.id).toBe(1);
    await db.prisma.action.create({
      data: {
        ref: 'mypack.deploy',
        packId: pack.id,
        name: 'deploy',
        runnerType: 'shell',
        entryPoint: 'deploy.sh',
        timeoutSeconds: 30,
      },
    });
    await db.prisma.action.create({
      data: {
        ref: 'mypack.report',
        packId: pack.id,
        name: 'report',
        runnerType: 'python',
        entryPoint: 'report.py',
        timeoutSeconds: 30,
        parameters: { target: { type: 'string' }, items: { type: 'array' } },
      },
    });
    const logger = capturingApiLogger(logLines);
    const started = new ExecutionPublisher(isolated.config);
    publisher = started;
    const services = createApiServices({
      db,
      security,
      publish: (m) => started.publish(m),
      logger,
      audit: options.audit ?? new AuditLog({ valueKey: AUDIT_HMAC_KEY }),
    });
    app = await buildApi({
      ...services,
      logger,
      maxBodyBytes: 128 * 1024,
      authFailureLimit: 50,
      // The fuzz tests send hundreds of requests a minute with one token; the limits have tests of their own.
      rateLimitPerMinute: 100_000,
      ...options.limits,
    });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const store = new TokenService({ store: new TokenStore(db.prisma), logger: silentLogger() });
    for (const [name, scopes] of Object.entries(TOKEN_SCOPES)) {
      tokens[name] = (await store.create(operator, name, [...scopes])).token;
    }
    const revoked = await store.create(operator, 'revoked', ['admin']);
    await store.revoke(operator, 'revoked');
    tokens.revoked = revoked.token;

    const database = db;
    return {
      db: database,
      app,
      base,
      services,
      publisher: started,
      broker: isolated.config,
      security,
      key: EncryptionKey.fromPassword(password),
      logLines,
      tokens,
      async call(method, path, token, body, raw) {
        const headers: Record<string, string> = {};
        if (token) headers.authorization = `Bearer ${token}`;
        if (body !== undefined || raw !== undefined) headers['content-type'] = 'application/json';
        const res = await fetch(`${base}${path}`, {
          method,
          headers,
          body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
        });
        const text = await res.text();
        return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
      },
      keyCount: () => database.prisma.key.count(),
      close,
    };
  } catch (error) {
    // A set-up that fails half-way leaves nothing behind (the file's afterAll has no handle to close).
    await close().catch(() => undefined);
    throw error;
  }
}

/**
 * Creates the key the seed's curl example creates (`mypack.api_key`, encrypted, value `sk_live_abc123`), for a file
 * whose tests need it without running that example.
 */
export async function createSeedExampleKey(api: TestApi): Promise<void> {
  const created = await api.call('POST', '/api/v1/keys', api.tokens.admin, {
    ref: 'mypack.api_key',
    owner_type: 'pack',
    owner_pack: 1,
    name: 'api_key',
    value: 'sk_live_abc123',
    encrypted: true,
  });
  expect(created.status).toBe(201);
}
