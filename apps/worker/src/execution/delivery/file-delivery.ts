import type { ExecutionWarning } from '@attune/executions';
import type { ResolvedSecret, SecretsFileFormat, SecretValue } from '@attune/secrets';
import type { DeliveredSecrets, SecretDelivery } from './delivery.js';

/** The file's name in the scratch folder, by format. */
export const SECRETS_FILE_NAMES: Readonly<Record<SecretsFileFormat, string>> = {
  json: '.attune-secrets.json',
  dotenv: '.attune-secrets.env',
};

/**
 * `secrets_delivery: file`: one file in the execution's scratch folder, by env var name — `json`, one object
 * (`{"SECRET_API_KEY": "…", "SECRET_DB": {…}}`, structured values as JSON), or `dotenv`, one `SECRET_NAME='value'`
 * line per secret quoted for POSIX sh (`. "$ATTUNE_SECRETS_FILE"`), structured values as compact JSON. The
 * executor writes it (0400, the action's own) and removes it with the folder. A value dotenv cannot carry (a NUL) is
 * not delivered, with a warning.
 */
export class FileDelivery implements SecretDelivery {
  readonly mode = 'file';
  readonly #format: SecretsFileFormat;

  constructor(format: SecretsFileFormat = 'json') {
    this.#format = format;
  }

  deliver(secrets: readonly ResolvedSecret[]): DeliveredSecrets {
    const warnings: ExecutionWarning[] = [];
    let delivered = [...secrets];
    let content: string;
    if (this.#format === 'json') {
      content = `${JSON.stringify(Object.fromEntries(secrets.map((s) => [s.envName, s.value])))}\n`;
    } else {
      delivered = secrets.filter((s) => {
        if (!textOf(s.value).includes('\0')) return true;
        warnings.push({
          kind: 'secret_skipped',
          ref: s.ref,
          message: `Secret ${s.ref} (${s.envName}) holds a NUL character, which a dotenv file cannot carry; it was not delivered (secrets_file_format: json can).`,
        });
        return false;
      });
      content = delivered.map((s) => `${s.envName}=${shellQuote(textOf(s.value))}\n`).join('');
    }
    return { env: {}, file: { name: SECRETS_FILE_NAMES[this.#format], content }, delivered, warnings };
  }
}

/** `secrets_delivery: stdin`: the secrets beside the parameters in the one JSON line the action reads. */
export class StdinDelivery implements SecretDelivery {
  readonly mode = 'stdin';

  deliver(secrets: readonly ResolvedSecret[]): DeliveredSecrets {
    return {
      env: {},
      stdin: Object.fromEntries(secrets.map((s) => [s.envName, s.value])),
      delivered: [...secrets],
      warnings: [],
    };
  }
}

function textOf(value: SecretValue): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** `'…'` for POSIX sh: everything literal, a single quote written as `'\''`. */
function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
