import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

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
  'hmacKey',
  '*.hmacKey',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'stdin',
  'stdout',
  'stderr',
  'parameters',
  '*.parameters',
  'databaseUrl',
  // Connection URLs may hold a password. Named, not `*.url`: a request's URL (`req.url`) is what an access log is for.
  'url',
  'database.url',
  'broker.url',
  'config.url',
];

/** Log levels accepted by `log.level` (pino's). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Options of {@link createLogger}. */
export interface CreateLoggerOptions {
  /** The process: `attune-worker`, `attune-api`, `attune`. */
  readonly name: string;
  readonly level?: LogLevel | undefined;
  /** Where lines go; stdout by default (the CLI passes stderr, keeping stdout for results). */
  readonly destination?: DestinationStream | undefined;
}

/**
 * The one logger of a process (worker, API, CLI): JSON lines, secret-bearing fields redacted. Components take
 * children of it (`logger.child({ component: 'api' })`), never loggers of their own.
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const settings: LoggerOptions = {
    name: options.name,
    level: options.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
  };
  return pino(settings, options.destination);
}

/** A logger that writes to stderr (for commands whose stdout is their result). */
export function stderrDestination(): DestinationStream {
  return pino.destination(2);
}

/** A logger that writes nothing (tests, benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

export type { Logger } from 'pino';
