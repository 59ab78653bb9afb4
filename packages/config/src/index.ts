/**
 * `@attune/config`: Attune's configuration, parsed once (zod), in sections; each process takes its view.
 * Keys: docs/worker.md#configuration, docs/deployment.md.
 */

export type { BrokerConfig } from '@attune/broker';
export {
  CREDENTIAL_ENV,
  dropCredentialEnvironment,
  processEnvironment,
} from './environment.js';
export {
  ConfigError,
  type ConfigErrorDetails,
  describeSource,
  missingSettingHint,
  type SettingSource,
} from './errors.js';
export { SINGLE_KEY_ID } from './keyring.js';
export { type ConfigSource, DEFAULT_AMQP_URL, loadConfig } from './load.js';
export { BASE_CHILD_ENV } from './passthrough.js';
export { ISOLATION_SETTINGS } from './schema.js';
export { CONFIG_FILE_NAME } from './setting-sources.js';
export { isTokenFormat, readTokenFile, tokenFilePath, writeTokenFile } from './token-file.js';
export type {
  ApiConfig,
  ApiSection,
  AttuneConfig,
  AuditConfig,
  AuditSection,
  CliConfig,
  ConfigFileInfo,
  IsolationConfig,
  LogConfig,
  MasterKeyConfig,
  RemoteConfig,
  SecretsConfig,
  SecurityConfig,
  WorkerConfig,
  WorkerSection,
} from './types.js';
export { apiConfigOf, cliConfigOf, loadWorkerConfig, workerConfigOf } from './views.js';
