import { InvalidKeyInputError } from './errors.js';

/** Longest secret name, in characters; its env var is `SECRET_` plus as many. */
export const MAX_NAME_LENGTH = 128;
/** Longest key ref, in characters. */
export const MAX_REF_LENGTH = 255;
/** Prefix of every injected secret variable (the seed's naming). */
export const SECRET_ENV_PREFIX = 'SECRET_';

const NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;
const REF_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * The env var a secret name is injected as, per the seed: `SECRET_` + upper case, `-` replaced by `_`.
 * `api_key` → `SECRET_API_KEY`, `db-password` → `SECRET_DB_PASSWORD`. The database computes the same column.
 */
export function envVarName(name: string): string {
  return SECRET_ENV_PREFIX + name.replaceAll('-', '_').toUpperCase();
}

/**
 * Checks that a name gives a valid env var: 1–128 characters of `A–Z a–z 0–9 _ -`, not starting with `-`.
 * @throws {InvalidKeyInputError} saying what is wrong, quoting the name only when it is printable and short.
 */
export function validateSecretName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidKeyInputError(
      'name',
      'The secret name is empty; use letters, digits, _ and -, e.g. api_key.',
    );
  }
  if (name.length > MAX_NAME_LENGTH) {
    throw new InvalidKeyInputError(
      'name',
      `The secret name is ${name.length} characters long; at most ${MAX_NAME_LENGTH}.`,
    );
  }
  if (!NAME_PATTERN.test(name)) {
    const bad = [...name].find((c) => !/[A-Za-z0-9_-]/.test(c)) ?? name[0];
    throw new InvalidKeyInputError(
      'name',
      `The secret name ${describe(name)} contains ${describeChar(bad ?? '-')}; names become env vars (SECRET_<NAME>), ` +
        'so use only letters, digits, _ and -, not starting with -.',
    );
  }
  return name;
}

/**
 * Checks a key ref: 1–255 characters of `A–Z a–z 0–9 _ - .`, starting with a letter, digit or `_`.
 * @throws {InvalidKeyInputError}
 */
export function validateKeyRef(ref: unknown): string {
  if (typeof ref !== 'string' || ref.length === 0)
    throw new InvalidKeyInputError('ref', 'The key ref is empty.');
  if (ref.length > MAX_REF_LENGTH) {
    throw new InvalidKeyInputError(
      'ref',
      `The key ref is ${ref.length} characters long; at most ${MAX_REF_LENGTH}.`,
    );
  }
  if (!REF_PATTERN.test(ref)) {
    throw new InvalidKeyInputError(
      'ref',
      `The key ref ${describe(ref)} may contain only letters, digits, _, - and ., starting with a letter, digit or _.`,
    );
  }
  return ref;
}

function describe(text: string): string {
  return /^[\x20-\x7e]{1,64}$/.test(text) ? `'${text}'` : `(${text.length} characters)`;
}

function describeChar(c: string): string {
  if (c === ' ') return 'a space';
  if (c === '\0') return 'a NUL character';
  if (/^[\x21-\x7e]$/.test(c)) return `'${c}'`;
  return `the character U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}
