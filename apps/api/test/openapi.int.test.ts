/**
 * The API's OpenAPI document (one a client can be generated from, Redocly-lint clean), its browsable page, and the
 * security headers on its answers.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './support/test-api.js';

const REDOCLY = fileURLToPath(new URL('../node_modules/.bin/redocly', import.meta.url));
const run = promisify(execFile);

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi({ broker: 'apiopenapi' });
});

afterAll(async () => {
  await api?.close();
});

describe('OpenAPI document', () => {
  it('publishes an OpenAPI document a client can be generated from: operationIds, 2xx schemas, servers, lint clean', async () => {
    const { base } = api;
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as {
      servers?: unknown[];
      paths: Record<string, Record<string, { operationId?: string; summary?: string; responses?: object }>>;
    };
    expect(doc.servers?.length).toBeGreaterThan(0);
    const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ at: `${method.toUpperCase()} ${path}`, ...op })),
    );
    expect(operations.length).toBeGreaterThanOrEqual(19);
    const ids = new Set<string>();
    for (const op of operations) {
      expect(op.operationId, op.at).toMatch(/^[a-z][A-Za-z]+$/);
      ids.add(op.operationId as string);
      expect(op.summary, op.at).toBeTruthy();
      expect(
        Object.keys(op.responses ?? {}).some((code) => /^2\d\d$/.test(code)),
        op.at,
      ).toBe(true);
    }
    expect(ids.size).toBe(operations.length);
    // Redocly's recommended rules: no error.
    const dir = mkdtempSync(join(tmpdir(), 'attune-openapi-'));
    try {
      writeFileSync(join(dir, 'openapi.json'), JSON.stringify(doc));
      const lint = await run(REDOCLY, ['lint', join(dir, 'openapi.json'), '--format=summary']).catch(
        (error: { stdout?: string; stderr?: string }) => ({
          stdout: `${error.stdout}${error.stderr}`,
          failed: true,
        }),
      );
      expect(lint, JSON.stringify(lint)).not.toHaveProperty('failed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves the OpenAPI document and a browsable page, with security headers', async () => {
    const { call, tokens, base } = api;
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/v1/keys', '/api/v1/keys/{ref}', '/api/v1/executions']),
    );
    const page = await fetch(`${base}/docs/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('swagger');
    const res = await call('GET', '/api/v1/packs', tokens.read);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBeTruthy();
  });
});
