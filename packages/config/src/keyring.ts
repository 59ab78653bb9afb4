import { CONFIG_FILE_OPTIONS, ConfigError, missingSettingHint } from './errors.js';
import type { ConfigFile } from './schema.js';
import { readKeyFile } from './secret-files.js';
import type { MasterKeyConfig } from './types.js';

/** Shortest master key accepted, in characters (docs/encryption.md#key-derivation). */
const MIN_KEY_LENGTH = 32;

/** The id of the one master key of `security.encryption_key` / `security.encryption_key_file`. */
export const SINGLE_KEY_ID = 'default';

/**
 * The master keys of `security`: the keyring of `security.encryption_keys` with `security.active_key`, or a ring of
 * one from the seed's `security.encryption_key` (or `encryption_key_file`). Empty when none is configured.
 * @throws {ConfigError} naming the setting at fault, never a key.
 */
export function keyringOf(security: ConfigFile['security']): {
  keys: MasterKeyConfig[];
  activeKeyId: string | undefined;
} {
  const single = security.encryption_key !== undefined || security.encryption_key_file !== undefined;
  if (security.encryption_key !== undefined && security.encryption_key_file !== undefined) {
    throw new ConfigError(
      'security',
      'set either encryption_key or encryption_key_file, not both (encryption_key_file is recommended)',
    );
  }
  if (security.encryption_keys !== undefined && single) {
    throw new ConfigError(
      'security',
      'set either encryption_keys (a keyring) or encryption_key / encryption_key_file (one key), not both',
    );
  }
  if (security.encryption_keys === undefined) {
    if (security.active_key !== undefined)
      throw new ConfigError(
        'security.active_key',
        'names a key of security.encryption_keys, which is not set',
        {
          // The list exists in the file only: most likely the file that holds it was not read.
          hint: `security.encryption_keys is read from the configuration file only (${CONFIG_FILE_OPTIONS})`,
        },
      );
    if (!single) return { keys: [], activeKeyId: undefined };
    const fromFile = security.encryption_key_file !== undefined;
    const setting = fromFile ? 'security.encryption_key_file' : 'security.encryption_key';
    const password = fromFile
      ? readKeyFile(security.encryption_key_file as string, setting)
      : (security.encryption_key as string);
    checkLength(setting, password);
    return {
      keys: [{ id: SINGLE_KEY_ID, password, source: fromFile ? 'file' : 'config' }],
      activeKeyId: SINGLE_KEY_ID,
    };
  }
  const keys: MasterKeyConfig[] = [];
  for (const [i, entry] of security.encryption_keys.entries()) {
    const setting = `security.encryption_keys[${i}]`;
    if ((entry.key === undefined) === (entry.key_file === undefined))
      throw new ConfigError(setting, `key ${entry.id} needs exactly one of key_file (recommended) or key`);
    if (keys.some((k) => k.id === entry.id))
      throw new ConfigError(setting, `the id ${entry.id} is used twice`);
    const password =
      entry.key_file !== undefined
        ? readKeyFile(entry.key_file, `${setting}.key_file`)
        : (entry.key as string);
    checkLength(`${setting}.${entry.key_file !== undefined ? 'key_file' : 'key'}`, password);
    keys.push({ id: entry.id, password, source: entry.key_file !== undefined ? 'file' : 'config' });
  }
  const activeKeyId = security.active_key ?? (keys.length === 1 ? keys[0]?.id : undefined);
  if (activeKeyId === undefined)
    throw new ConfigError(
      'security.active_key',
      'is required with more than one key: name the key that encrypts',
      { hint: missingSettingHint('ATTUNE__SECURITY__ACTIVE_KEY') },
    );
  if (!keys.some((k) => k.id === activeKeyId))
    throw new ConfigError(
      'security.active_key',
      `${activeKeyId} is not the id of a key of security.encryption_keys`,
    );
  return { keys, activeKeyId };
}

/**
 * The audit HMAC key (`audit.hmac_key` or, recommended, `audit.hmac_key_file`); undefined when none is configured.
 * At least as long as an encryption key, and never the same as one (the audit key is handed to fewer processes).
 */
export function auditHmacKeyOf(
  audit: { hmac_key?: string | undefined; hmac_key_file?: string | undefined },
  masterKeys: ReadonlyArray<{ password: string }>,
): string | undefined {
  if (audit.hmac_key !== undefined && audit.hmac_key_file !== undefined)
    throw new ConfigError(
      'audit',
      'set either hmac_key or hmac_key_file, not both (hmac_key_file is recommended)',
    );
  const setting = audit.hmac_key_file !== undefined ? 'audit.hmac_key_file' : 'audit.hmac_key';
  const key =
    audit.hmac_key_file !== undefined
      ? readKeyFile(audit.hmac_key_file, 'audit.hmac_key_file', 'holds the audit HMAC key')
      : audit.hmac_key;
  if (key === undefined) return undefined;
  checkLength(setting, key);
  if (masterKeys.some((k) => k.password === key))
    throw new ConfigError(setting, 'is an encryption key: the audit HMAC key must be a key of its own');
  return key;
}

function checkLength(setting: string, password: string): void {
  const length = [...password].length;
  if (length < MIN_KEY_LENGTH) {
    throw new ConfigError(
      setting,
      `is ${length} characters long; at least ${MIN_KEY_LENGTH} are required (generate one with attune-crypto keygen)`,
    );
  }
}
