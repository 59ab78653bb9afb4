/**
 * `@attune/core`: what every Attune package and app shares — the error base and its categories (mapped once to
 * HTTP statuses and once to exit codes), the logger factory with its redaction paths, the actor, core dumps off for
 * processes that hold secrets, and the reader of /proc stat files.
 * Words: docs/glossary.md.
 */
export { type Actor, actorFields, cliActor, SYSTEM_ACTOR, tokenActor, workerActor } from './actor.js';
export {
  type CoreDumpLimit,
  type CoreDumpsState,
  coreDumpLimit,
  coreDumpsWarnings,
  corePattern,
  crashCollector,
  disableCoreDumps,
} from './core-dumps.js';
export { DURATION_HINT, formatDuration, MAX_DURATION_MS, parseDuration } from './duration.js';
export {
  AttuneError,
  type AttuneErrorInit,
  categoryOf,
  ERROR_CATEGORIES,
  type ErrorCategory,
  EXIT_CODE,
  EXIT_FAILED,
  errorSummary,
  exitCodeOf,
  HTTP_STATUS,
  httpStatusOf,
  isAttuneError,
} from './errors.js';
export {
  type CreateLoggerOptions,
  createLogger,
  LOG_LEVELS,
  type Logger,
  type LogLevel,
  REDACT_PATHS,
  silentLogger,
  stderrDestination,
} from './logger.js';
export { checkPage } from './page.js';
export { procStatFields } from './proc.js';
export { parseIsoTime } from './time.js';
