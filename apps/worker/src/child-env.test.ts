import { describe, expect, it } from 'vitest';
import { buildChildEnv } from './child-env.js';

const KEY = 'config-test-encryption-key-0123456789abc';

describe('child environment', () => {
  it('is built from the allowlist, never from the worker environment', () => {
    const env = buildChildEnv({
      parentEnv: {
        PATH: '/usr/bin',
        HOME: '/root',
        LANG: 'C.UTF-8',
        LC_ALL: 'C',
        DATABASE_URL: 'postgresql://secret',
        ATTUNE__SECURITY__ENCRYPTION_KEY: KEY,
        AMQP_URL: 'amqp://guest:guest@h',
        HTTP_PROXY: 'http://proxy',
        RANDOM: 'x',
      },
      passthrough: ['HTTP_PROXY'],
      context: { ATTUNE_EXECUTION_ID: '7', ATTUNE_ACTION: 'p.a', ATTUNE_PACK: 'p' },
      secrets: { SECRET_API_KEY: 'v' },
    });
    expect(Object.keys(env).sort()).toEqual(
      [
        'ATTUNE_ACTION',
        'ATTUNE_EXECUTION_ID',
        'ATTUNE_PACK',
        'HOME',
        'HTTP_PROXY',
        'LANG',
        'LC_ALL',
        'PATH',
        'SECRET_API_KEY',
      ].sort(),
    );
  });
});
