/**
 * The audit log over HTTP: who did what, from which address, with which request id, refusals with their reason,
 * filters and the cursor, the value HMAC lookup — and never a value or a token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './support/test-api.js';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi({ broker: 'apiaudit' });
  // An execution request, one of the kinds of event the log must hold.
  const requested = await api.call('POST', '/api/v1/executions', api.tokens.run, {
    action_ref: 'mypack.deploy',
    parameters: {},
  });
  expect(requested.status).toBe(202);
});

afterAll(async () => {
  await api?.close();
});

describe('audit log over the API', () => {
  it('records who did what in the audit log, with address and request id, never a value', async () => {
    const { call, tokens } = api;
    const value = 'audit-trail-value-7f3e91';
    const ref = 'mypack.audit_probe';
    expect(
      (
        await call('POST', '/api/v1/keys', tokens.admin, {
          ref,
          name: 'audit_probe',
          owner_type: 'pack',
          owner_pack: 1,
          value,
          encrypted: true,
        })
      ).status,
    ).toBe(201);
    expect((await call('GET', `/api/v1/keys/${ref}?decrypt=true`, tokens.readDecrypt)).status).toBe(200);
    expect((await call('PUT', `/api/v1/keys/${ref}`, tokens.write, { value: `${value}-2` })).status).toBe(
      200,
    );
    // Only audit:read (or admin) reads the log.
    expect((await call('GET', '/api/v1/audit', tokens.readDecrypt)).status).toBe(403);
    const page = await call('GET', `/api/v1/audit?ref=${ref}`, tokens.auditor);
    expect(page.status).toBe(200);
    const events = page.body?.data as Array<Record<string, unknown>>;
    expect(events.map((e) => e.action)).toEqual(['key.updated', 'key.decrypted', 'key.created']);
    expect(events.map((e) => (e.actor as { name: string }).name)).toEqual(['write', 'readDecrypt', 'admin']);
    for (const e of events) {
      expect(e).toMatchObject({ ref, outcome: 'ok', source: '127.0.0.1' });
      expect(e.request_id).toEqual(expect.any(String));
    }
    expect(events.map((e) => e.version)).toEqual([2, 1, 1]);
    // Tokens, execution requests: recorded too. No value anywhere in the log.
    const all = await call('GET', '/api/v1/audit?limit=1000', tokens.admin);
    const actions = new Set(((all.body?.data ?? []) as Array<{ action: string }>).map((e) => e.action));
    expect([...actions]).toEqual(
      expect.arrayContaining(['token.created', 'token.revoked', 'execution.requested']),
    );
    expect(JSON.stringify(all.body)).not.toContain(value);
    for (const name of Object.keys(tokens)) expect(JSON.stringify(all.body)).not.toContain(tokens[name]);
    // Filters and the cursor: two pages of one event each, then the rest.
    const first = await call('GET', `/api/v1/audit?ref=${ref}&limit=1`, tokens.auditor);
    expect(first.body?.data.map((e: { action: string }) => e.action)).toEqual(['key.updated']);
    const second = await call(
      'GET',
      `/api/v1/audit?ref=${ref}&limit=1&before=${first.body?.next}`,
      tokens.auditor,
    );
    expect(second.body?.data.map((e: { action: string }) => e.action)).toEqual(['key.decrypted']);
    const byActor = await call('GET', `/api/v1/audit?actor=readDecrypt&action=key.decrypted`, tokens.auditor);
    expect(byActor.body?.data.map((e: { ref: string }) => e.ref)).toContain(ref);
    const future = await call('GET', `/api/v1/audit?from=2999-01-01T00:00:00Z`, tokens.auditor);
    expect(future.body?.data).toEqual([]);
    expect((await call('GET', '/api/v1/audit?from=yesterday', tokens.auditor)).status).toBe(400);
    expect((await call('GET', '/api/v1/audit?before=9999999999999999999', tokens.auditor)).status).toBe(400);
    // A decrypt the token may not do: refused, and recorded as refused with who, from where, and why.
    expect((await call('GET', `/api/v1/keys/${ref}?decrypt=true`, tokens.read)).status).toBe(403);
    const [refused] =
      (await call('GET', `/api/v1/audit?ref=${ref}&action=key.decrypted&limit=1`, tokens.auditor)).body
        ?.data ?? [];
    expect(refused).toMatchObject({
      outcome: 'refused',
      actor: { name: 'read' },
      source: '127.0.0.1',
      detail: { reason: 'the token lacks the keys:decrypt scope' },
    });
    // Was this leaked string ever a stored value, and when? By its keyed HMAC; the lookup is recorded, not the string.
    // Only for a token that may read values anyway (audit:read and keys:decrypt): else it is a guessing oracle.
    const hashed = await call('POST', '/api/v1/audit/hash', tokens.admin, { value });
    expect(hashed.status).toBe(200);
    expect(hashed.body?.data.map((e: { action: string; ref: string }) => [e.action, e.ref])).toEqual([
      ['key.created', ref],
    ]);
    const updatedValue = await call('POST', '/api/v1/audit/hash', tokens.admin, { value: `${value}-2` });
    expect(updatedValue.body?.data.map((e: { version: number }) => e.version)).toEqual([2]);
    expect(
      (await call('POST', '/api/v1/audit/hash', tokens.admin, { value: 'never-stored' })).body?.data,
    ).toEqual([]);
    expect((await call('POST', '/api/v1/audit/hash', tokens.auditor, { value })).status).toBe(403);
    expect((await call('POST', '/api/v1/audit/hash', tokens.readDecrypt, { value })).status).toBe(403);
    expect((await call('POST', '/api/v1/audit/hash', tokens.admin, { value: '' })).status).toBe(400);
    const lookups = await call('GET', '/api/v1/audit?action=audit.value_looked_up&limit=3', tokens.auditor);
    expect(
      lookups.body?.data.map((e: { detail: { matches: number; events: string[] } }) => [
        e.detail.matches,
        e.detail.events.length,
      ]),
    ).toEqual([
      [0, 0],
      [1, 1],
      [1, 1],
    ]);
    expect(lookups.body?.data[2].detail.events).toEqual([hashed.body?.data[0].id]);
    // The HMACs are compared, never shown: two secrets with one value would show one HMAC.
    expect(JSON.stringify(hashed.body)).not.toContain('value_hmac');
    const everything = JSON.stringify((await call('GET', '/api/v1/audit?limit=1000', tokens.admin)).body);
    expect(everything).not.toContain(value);
    expect(everything).not.toContain('value_hmac');
    expect(everything).not.toContain('never-stored');
    expect((await call('GET', '/api/v1/audit?limit=0', tokens.auditor)).status).toBe(400);
  });
});
