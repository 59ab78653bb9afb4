/**
 * Secret usage over HTTP (keys:read): a key's last use, the actions that used it, the executions of one version, and
 * keys unused for a number of days.
 */
import { ExecutionStore } from '@attune/executions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './support/test-api.js';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi({ broker: 'apiusage' });
});

afterAll(async () => {
  await api?.close();
});

describe('secret usage over the API', () => {
  it('answers who used a secret: last use, actions, executions of a version, unused keys (keys:read)', async () => {
    const { call, tokens, db } = api;
    const ref = 'mypack.usage_probe';
    const created = await call('POST', '/api/v1/keys', tokens.admin, {
      ref,
      name: 'usage_probe',
      owner_type: 'pack',
      owner_pack: 1,
      value: 'usage-probe-value',
      encrypted: true,
    });
    expect(created.status).toBe(201);
    const requested = await call('POST', '/api/v1/executions', tokens.run, { action_ref: 'mypack.deploy' });
    const id = requested.body?.data.id as string;
    // Stored as a worker stores a run's end, with the provenance of what it received.
    const store = new ExecutionStore(db.sql);
    expect(await store.claim(id, 'api-test-worker')).not.toBeNull();
    await store.finish(id, 'api-test-worker', {
      status: 'succeeded',
      exitCode: 0,
      durationMs: 3,
      stdout: '',
      stderr: '',
      stdoutTruncated: false,
      stderrTruncated: false,
      result: null,
      warnings: [],
      secrets: [
        { env_name: 'SECRET_USAGE_PROBE', ref, level: 'pack', version: 1, key_hash: null, overrides: [] },
      ],
    });
    expect((await call('GET', `/api/v1/keys/${ref}/usage`, tokens.run)).status).toBe(403);
    const u = await call('GET', `/api/v1/keys/${ref}/usage`, tokens.read);
    expect(u.status).toBe(200);
    expect(u.body?.data).toMatchObject({
      ref,
      last_use: { execution_id: id, action_ref: 'mypack.deploy', version: 1 },
      actions: [{ action_ref: 'mypack.deploy', version: 1, executions: 1 }],
    });
    const v1 = await call('GET', `/api/v1/keys/${ref}/versions/1/executions`, tokens.read);
    expect(v1.body).toMatchObject({
      data: [{ execution_id: id, status: 'succeeded', worker_id: 'api-test-worker' }],
      next: null,
    });
    const unused = await call('GET', '/api/v1/usage/unused?days=1', tokens.read);
    expect(unused.status).toBe(200);
    expect(unused.body?.data).toEqual([]); // every key here was created within the day
    expect((await call('GET', '/api/v1/usage/unused', tokens.read)).status).toBe(400);
    expect(
      (await call('GET', `/api/v1/keys/${ref}/versions/1/executions?before=9999999999999999999`, tokens.read))
        .status,
    ).toBe(400);
    expect((await call('GET', '/api/v1/usage/unused?days=0', tokens.read)).status).toBe(400);
    expect((await call('GET', `/api/v1/keys/${ref}/usage?from=soon`, tokens.read)).status).toBe(400);
    expect(JSON.stringify([u.body, v1.body])).not.toContain('usage-probe-value');
  });
});
