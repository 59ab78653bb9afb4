import { auditHmacKeyOf } from './keyring.js';
import { type ConfigSource, loadConfig } from './load.js';
import type { ApiConfig, AttuneConfig, AuditConfig, CliConfig, WorkerConfig } from './types.js';

/** The worker's view of the configuration. */
export function workerConfigOf(c: AttuneConfig): WorkerConfig {
  return {
    ...c.security,
    ...c.worker,
    database: c.database,
    isolation: c.sandbox,
    broker: c.broker,
    logLevel: c.log.level,
  };
}

/** The audit settings of the API and the CLI: reads the audit HMAC key (its file, checked). @throws {ConfigError} */
function auditConfigOf(c: AttuneConfig): AuditConfig {
  return { hmacKey: auditHmacKeyOf(c.audit, c.security.keyring) };
}

/** The HTTP API's view of the configuration. @throws {ConfigError} when the audit HMAC key cannot be read. */
export function apiConfigOf(c: AttuneConfig): ApiConfig {
  return {
    ...c.security,
    audit: auditConfigOf(c),
    secrets: c.secrets,
    database: c.database,
    broker: c.broker,
    api: c.api,
    logLevel: c.log.level,
  };
}

/** The CLI's view of the configuration. @throws {ConfigError} when the audit HMAC key cannot be read. */
export function cliConfigOf(c: AttuneConfig): CliConfig {
  return {
    ...c.security,
    // In remote mode the CLI holds no audit key (nor uses the database): the API records and compares.
    audit: c.remote ? { hmacKey: undefined } : auditConfigOf(c),
    remote: c.remote,
    secrets: c.secrets,
    database: c.database,
    broker: c.broker,
    logLevel: c.log.level,
  };
}

/** Loads the configuration and takes the worker's view of it. @throws {ConfigError} */
export function loadWorkerConfig(source: ConfigSource): WorkerConfig {
  return workerConfigOf(loadConfig(source));
}
