/**
 * Executions over HTTP: a request is published on the broker and read back; actions list what they declare and how
 * they receive their secrets.
 */
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AMQP_URL, startTestApi, type TestApi } from './support/test-api.js';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi({ broker: 'apiexecutions' });
});

afterAll(async () => {
  await api?.close();
});

describe('executions over the API', () => {
  it('requests executions through the broker and reads them back', async () => {
    const { call, tokens, broker } = api;
    const res = await call('POST', '/api/v1/executions', tokens.run, {
      action_ref: 'mypack.deploy',
      parameters: {},
    });
    expect(res.status).toBe(202);
    const id = res.body?.data.id as string;
    const connection = await amqp.connect(AMQP_URL);
    const channel = await connection.createChannel();
    const msg = await channel.get(broker.queue, { noAck: true });
    await connection.close();
    expect(msg && JSON.parse(msg.content.toString())).toEqual({
      execution_id: Number(id),
      action_ref: 'mypack.deploy',
    });
    const read = await call('GET', `/api/v1/executions/${id}`, tokens.run);
    expect(read.body?.data).toMatchObject({ id, action_ref: 'mypack.deploy', status: 'requested' });
    expect((await call('POST', '/api/v1/executions', tokens.run, { action_ref: 'mypack.nope' })).status).toBe(
      404,
    );
    expect((await call('GET', '/api/v1/executions/999999', tokens.run)).status).toBe(404);
    const actions = await call('GET', '/api/v1/actions?pack=mypack', tokens.run);
    expect(actions.body?.data.map((a: { ref: string }) => a.ref)).toEqual(['mypack.deploy', 'mypack.report']);
    // What each declares and how it receives its secrets (the policy: its own, else its pack's; null: the worker's).
    expect(actions.body?.data[0]).toMatchObject({
      secrets: expect.any(Array),
      secrets_policy: null,
      secrets_delivery: 'env',
      secrets_file_format: null,
    });
    for (const declared of actions.body?.data[0].secrets ?? [])
      expect(declared).toEqual({ name: expect.any(String), required: expect.any(Boolean) });
  });
});
