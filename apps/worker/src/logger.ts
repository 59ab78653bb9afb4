import { type DestinationStream, type Logger, pino } from 'pino';

/**
 * Every field name that may hold a secret, wherever it sits. Redaction only sees keys: values are never
 * interpolated into messages, so this list is the whole defence for structured fields.
 */
export const REDACT_PATHS = [
  'value',
  '*.value',
  'values',
  'env',
  '*.env',
  'secrets',
  '*.secrets',
  'password',
  '*.password',
  'encryption_key',
  '*.encryption_key',
  'encryptionKey',
  '*.encryptionKey',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'stdin',
  'stdout',
  'stderr',
  'parameters',
  '*.parameters',
  'databaseUrl',
  'url',
  '*.url',
];

/** The one logger of a worker process: JSON lines, secret-bearing fields redacted. */
export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      name: 'attune-worker',
      level: options.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
    },
    options.destination,
  );
}
