import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { cliActor, SYSTEM_ACTOR, tokenActor, workerActor } from './actor.js';
import { createLogger } from './logger.js';

describe('createLogger', () => {
  it('redacts every secret-bearing field, nested or not, and names the process', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger({ name: 'attune-test', level: 'info', destination });
    logger.info(
      {
        value: 'canary-1',
        token: 'canary-2',
        key: { value: 'canary-3' },
        env: { SECRET_X: 'canary-5' },
        url: 'postgresql://u:canary-6@h/db',
        broker: { url: 'amqp://u:canary-7@h' },
        database: { url: 'postgresql://u:canary-8@h/db' },
        req: { url: '/api/v1/keys/system.api_key', headers: { authorization: 'Bearer canary-4' } },
      },
      'hello',
    );
    const text = lines.join('');
    expect(text).toContain('"name":"attune-test"');
    expect(text).toContain('hello');
    expect(text).not.toMatch(/canary/);
    // What an access log is for stays: the request's path (refs are not secrets).
    expect(text).toContain('/api/v1/keys/system.api_key');
  });
});

describe('actors', () => {
  it('name the token, the local user, the worker, or the system', () => {
    expect(tokenActor(7, 'ci')).toEqual({ type: 'token', id: '7', name: 'ci' });
    expect(cliActor()).toMatchObject({ type: 'cli', name: expect.stringMatching(/^.+@.+$/) });
    expect(workerActor('w1')).toEqual({ type: 'worker', id: 'w1', name: 'w1' });
    expect(SYSTEM_ACTOR.type).toBe('system');
  });
});
