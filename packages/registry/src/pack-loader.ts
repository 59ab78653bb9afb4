import { isUtf8 } from 'node:buffer';
import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  readdirSync,
  readSync,
  realpathSync,
  statSync,
} from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import {
  type DeclaredSecret,
  envVarName,
  findUnstorable,
  SECRETS_DELIVERIES,
  SECRETS_FILE_FORMATS,
  SECRETS_POLICIES,
  type SecretsDelivery,
  type SecretsFileFormat,
  type SecretsPolicy,
  validateSecretName,
} from '@attune/secrets';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { InvalidPackError } from './errors.js';

/** Parameter types an action may declare. */
export const PARAMETER_TYPES = ['string', 'integer', 'number', 'boolean', 'object', 'array'] as const;

/** One declared parameter. */
export interface ParameterSpec {
  readonly type: (typeof PARAMETER_TYPES)[number];
  readonly description?: string | undefined;
  readonly required?: boolean | undefined;
  readonly default?: unknown;
}

/** An action as its metadata file declares it. */
export interface ActionDefinition {
  readonly name: string;
  readonly runnerType: 'python' | 'shell';
  /** Path of the script relative to the pack's `actions/` folder. */
  readonly entryPoint: string;
  readonly description: string | undefined;
  readonly parameters: Record<string, ParameterSpec>;
  readonly timeoutSeconds: number;
  /** Secrets the action declares (a missing optional one is a warning; a missing required one fails the execution). */
  readonly secrets: readonly DeclaredSecret[];
  /** Which secrets it receives, when it says (else its pack's, else the worker's). */
  readonly secretsPolicy: SecretsPolicy | undefined;
  /** How it receives them (default `env`). */
  readonly secretsDelivery: SecretsDelivery;
  /** With `file` delivery, the file's format (default `json`); undefined otherwise. */
  readonly secretsFileFormat: SecretsFileFormat | undefined;
  /** Whether the action may use the network (`network: false` cuts it off; sandbox isolation only). */
  readonly network: boolean;
  /** The metadata file, relative to the pack folder. */
  readonly file: string;
}

/** A pack folder, fully validated. */
export interface PackDefinition {
  readonly ref: string;
  readonly label: string;
  readonly version: string;
  readonly description: string | undefined;
  /** Absolute, real path of the pack folder. */
  readonly path: string;
  /** Which secrets its actions receive, when it says (else the worker's); an action may override it. */
  readonly secretsPolicy: SecretsPolicy | undefined;
  readonly actions: readonly ActionDefinition[];
}

/** Largest pack.yaml or action metadata file read: metadata is a few hundred bytes; more is a mistake or an attack. */
export const MAX_METADATA_BYTES = 64 * 1024;

const REF = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const refMessage = 'must be 1–64 characters of a–z 0–9 _ -, starting with a letter or digit';

const packSchema = z.object(
  {
    ref: z.string().regex(REF, refMessage),
    label: z.string().min(1, 'must not be empty'),
    version: z
      .string()
      .regex(/^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/, 'must be a semantic version such as 1.0.0'),
    description: z.string().optional(),
    secrets_policy: z.enum(SECRETS_POLICIES, { error: "must be 'all' or 'declared'" }).optional(),
  },
  { error: 'must be a mapping with ref, label and version' },
);

const parameterSchema = z
  .object({
    type: z.enum(PARAMETER_TYPES, { error: `must be one of ${PARAMETER_TYPES.join(', ')}` }),
    description: z.string().optional(),
    required: z.boolean().optional(),
    default: z.unknown().optional(),
  })
  .strict();

const actionSchema = z
  .object({
    name: z.string().regex(REF, refMessage),
    runner_type: z.enum(['python', 'shell'], { error: "must be 'python' or 'shell'" }),
    entry_point: z.string().min(1, 'must name the script, relative to actions/'),
    description: z.string().optional(),
    timeout: z.number().int().min(1).max(86_400).default(60),
    parameters: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'parameter names are identifiers'),
        parameterSchema,
      )
      .default({}),
    secrets: z
      .array(
        z.union(
          [
            z.string(),
            z
              .object({
                name: z.string(),
                required: z.boolean({ error: 'must be true or false' }).optional(),
              })
              .strict(),
          ],
          { error: 'each is a name, or {name, required: true|false}' },
        ),
      )
      .default([]),
    secrets_policy: z.enum(SECRETS_POLICIES, { error: "must be 'all' or 'declared'" }).optional(),
    secrets_delivery: z
      .enum(SECRETS_DELIVERIES, { error: "must be 'env', 'file' or 'stdin'" })
      .default('env'),
    secrets_file_format: z.enum(SECRETS_FILE_FORMATS, { error: "must be 'json' or 'dotenv'" }).optional(),
    network: z.boolean({ error: 'must be true or false' }).default(true),
  })
  .strict();

/**
 * Reads and validates a pack folder: `pack.yaml` and `actions/*.yaml`. Everything is checked before anything is
 * returned, so a caller registers all of a pack or nothing.
 * @throws {InvalidPackError} naming the file and field at fault.
 */
export function loadPack(dir: string): PackDefinition {
  let root: string;
  try {
    root = realpathSync(resolve(dir));
  } catch {
    throw new InvalidPackError(dir, undefined, 'no such folder');
  }
  const pack = parseFile(root, 'pack.yaml', packSchema);
  const actionsDir = join(root, 'actions');
  let files: string[] = [];
  try {
    // A symlink is followed only where it stays inside the pack: registering a pack reads nothing outside it.
    if (!inside(root, realpathSync(actionsDir))) {
      throw new InvalidPackError('actions', undefined, 'is a symlink to a folder outside the pack');
    }
    files = readdirSync(actionsDir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort();
  } catch (error) {
    if (error instanceof InvalidPackError) throw error;
    files = [];
  }
  const actions: ActionDefinition[] = [];
  const seen = new Map<string, string>();
  for (const fileName of files) {
    const file = `actions/${fileName}`;
    const raw = parseFile(root, file, actionSchema);
    const previous = seen.get(raw.name);
    if (previous)
      throw new InvalidPackError(file, 'name', `'${raw.name}' is also the name of the action in ${previous}`);
    seen.set(raw.name, file);
    checkEntryPoint(actionsDir, raw.entry_point, file);
    for (const [name, spec] of Object.entries(raw.parameters)) {
      if (spec.default !== undefined && !matchesType(spec.default, spec.type)) {
        throw new InvalidPackError(
          file,
          `parameters.${name}.default`,
          `does not match its type '${spec.type}'`,
        );
      }
    }
    if (raw.secrets_file_format !== undefined && raw.secrets_delivery !== 'file')
      throw new InvalidPackError(file, 'secrets_file_format', 'applies only with secrets_delivery: file');
    const secrets: DeclaredSecret[] = [];
    const envNames = new Map<string, string>();
    for (const [i, entry] of raw.secrets.entries()) {
      const declared =
        typeof entry === 'string'
          ? { name: entry, required: false }
          : { name: entry.name, required: entry.required === true };
      const field = typeof entry === 'string' ? `secrets[${i}]` : `secrets[${i}].name`;
      try {
        validateSecretName(declared.name);
      } catch (error) {
        throw new InvalidPackError(file, field, (error as Error).message);
      }
      const envName = envVarName(declared.name);
      const twin = envNames.get(envName);
      if (twin !== undefined)
        throw new InvalidPackError(
          file,
          field,
          `'${declared.name}' and '${twin}' are one secret (${envName}): declare it once`,
        );
      envNames.set(envName, declared.name);
      secrets.push(declared);
    }
    actions.push({
      name: raw.name,
      runnerType: raw.runner_type,
      entryPoint: raw.entry_point,
      description: raw.description,
      parameters: raw.parameters as Record<string, ParameterSpec>,
      timeoutSeconds: raw.timeout,
      secrets,
      secretsPolicy: raw.secrets_policy,
      secretsDelivery: raw.secrets_delivery,
      secretsFileFormat: raw.secrets_delivery === 'file' ? (raw.secrets_file_format ?? 'json') : undefined,
      network: raw.network,
      file,
    });
  }
  return {
    ref: pack.ref,
    label: pack.label,
    version: pack.version,
    description: pack.description,
    path: root,
    secretsPolicy: pack.secrets_policy,
    actions,
  };
}

/**
 * Resolves an action's script inside its pack's `actions/` folder, refusing paths that leave it (`..`, absolute
 * paths, symlinks out). Used at registration and again before every run.
 */
export function resolveEntryPoint(packPath: string, entryPoint: string): string {
  const actionsDir = realpathSync(join(packPath, 'actions'));
  if (!inside(realpathSync(packPath), actionsDir))
    throw new Error(`the actions/ folder of ${packPath} leaves the pack`);
  const target = realpathSync(resolve(actionsDir, entryPoint));
  const rel = relative(actionsDir, target);
  if (rel.startsWith('..') || rel.startsWith(sep) || resolve(actionsDir, rel) !== target) {
    throw new Error(`entry point ${entryPoint} leaves the pack's actions/ folder`);
  }
  return target;
}

function checkEntryPoint(actionsDir: string, entryPoint: string, file: string): void {
  let target: string;
  try {
    target = resolveEntryPoint(join(actionsDir, '..'), entryPoint);
  } catch (error) {
    const leaves = (error as Error).message.includes('leaves');
    throw new InvalidPackError(
      file,
      'entry_point',
      leaves
        ? `'${entryPoint}' is outside the pack's actions/ folder`
        : `'${entryPoint}' does not exist in actions/`,
    );
  }
  if (!statSync(target).isFile())
    throw new InvalidPackError(file, 'entry_point', `'${entryPoint}' is not a file`);
}

function parseFile<T>(root: string, file: string, schema: z.ZodType<T>): T {
  const text = readMetadata(root, file);
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    throw new InvalidPackError(
      file,
      undefined,
      `is not valid YAML (${(error as Error).message.split('\n')[0]})`,
    );
  }
  // Text the database cannot store (a NUL, an unpaired surrogate) is refused here, naming where it is.
  const bad = findUnstorable(data);
  if (bad) throw new InvalidPackError(file, bad.path || undefined, bad.problem);
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.length ? issue.path.join('.') : undefined;
    const problem =
      issue?.code === 'unrecognized_keys'
        ? `unknown field(s) ${issue.keys.join(', ')}`
        : (issue?.message ?? 'is invalid');
    throw new InvalidPackError(
      file,
      field,
      field && issue?.code === 'invalid_type' && issue.input === undefined ? 'is required' : problem,
    );
  }
  return parsed.data;
}

/**
 * Reads a metadata file of the pack: a regular file inside the pack (symlinks are followed only where they stay
 * inside), at most {@link MAX_METADATA_BYTES}. Opened without blocking and checked on the open descriptor, so a FIFO
 * or device in the pack is refused rather than hanging the registration.
 */
function readMetadata(root: string, file: string): string {
  let real: string;
  try {
    real = realpathSync(join(root, file));
  } catch {
    throw new InvalidPackError(file, undefined, 'file is missing or unreadable');
  }
  if (!inside(root, real))
    throw new InvalidPackError(file, undefined, 'is a symlink to a file outside the pack');
  let fd: number;
  try {
    fd = openSync(real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch {
    throw new InvalidPackError(file, undefined, 'file is missing or unreadable');
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new InvalidPackError(file, undefined, 'is not a regular file');
    if (stat.size > MAX_METADATA_BYTES) {
      throw new InvalidPackError(
        file,
        undefined,
        `is ${stat.size} bytes; metadata files may hold at most ${MAX_METADATA_BYTES}`,
      );
    }
    const buffer = Buffer.alloc(MAX_METADATA_BYTES + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > MAX_METADATA_BYTES) {
        throw new InvalidPackError(file, undefined, `grew past ${MAX_METADATA_BYTES} bytes while being read`);
      }
    }
    const bytes = buffer.subarray(0, length);
    if (!isUtf8(bytes)) throw new InvalidPackError(file, undefined, 'is not UTF-8 text');
    return bytes.toString('utf8');
  } catch (error) {
    if (error instanceof InvalidPackError) throw error;
    throw new InvalidPackError(file, undefined, 'file is missing or unreadable');
  } finally {
    closeSync(fd);
  }
}

/** Whether a JSON value has the declared parameter type. */
export function matchesType(value: unknown, type: ParameterSpec['type']): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'array':
      return Array.isArray(value);
  }
}

/** Whether `path` is `root` or inside it (both real paths). */
function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep) && resolve(root, rel) === path);
}
