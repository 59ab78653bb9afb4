import { type ConfigSource, loadConfig } from './load.js';
import type { ApiConfig, AttuneConfig, CliConfig, WorkerConfig } from './types.js';

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

/** The HTTP API's view of the configuration. */
export function apiConfigOf(c: AttuneConfig): ApiConfig {
  return {
    ...c.security,
    audit: c.audit,
    secrets: c.secrets,
    database: c.database,
    broker: c.broker,
    api: c.api,
    logLevel: c.log.level,
  };
}

/** The CLI's view of the configuration. */
export function cliConfigOf(c: AttuneConfig): CliConfig {
  return {
    ...c.security,
    audit: c.audit,
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
