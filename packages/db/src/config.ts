import { resolve } from 'node:path';
import { z } from 'zod';
import { DatabaseConfigError } from './errors.js';

/** Where the embedded database lives when no DATABASE_URL is set, relative to the working directory. */
export const DEFAULT_EMBEDDED_DIR = '.attune/pglite';

/** Validated database settings. */
export type DatabaseConfig =
  | { readonly kind: 'postgres'; readonly url: string; readonly poolSize: number }
  | {
      readonly kind: 'pglite';
      /** A folder, or `memory://` for a database that lives only as long as the process. */
      readonly dataDir: string;
    };

const schema = z.object({
  DATABASE_URL: z
    .string()
    .trim()
    .optional()
    .transform((value) => (value === '' ? undefined : value))
    .refine((value) => value === undefined || /^postgres(ql)?:\/\//.test(value), {
      message: 'must be a postgres:// or postgresql:// URL',
    }),
  ATTUNE__DATABASE__EMBEDDED_DIR: z.string().trim().min(1).optional(),
  ATTUNE__DATABASE__POOL_SIZE: z.coerce.number().int().min(1).max(200).optional(),
});

/**
 * Reads the database settings from an environment: `DATABASE_URL` selects PostgreSQL; without it Attune uses an
 * embedded PGlite database in `ATTUNE__DATABASE__EMBEDDED_DIR` (default `.attune/pglite`).
 * @throws {DatabaseConfigError} naming the variable and the problem, never its value (a URL may hold a password).
 */
export function databaseConfigFromEnv(env: Readonly<Record<string, string | undefined>>): DatabaseConfig {
  const parsed = schema.safeParse({
    DATABASE_URL: env.DATABASE_URL,
    ATTUNE__DATABASE__EMBEDDED_DIR: env.ATTUNE__DATABASE__EMBEDDED_DIR,
    ATTUNE__DATABASE__POOL_SIZE: env.ATTUNE__DATABASE__POOL_SIZE,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DatabaseConfigError(
      `${issue?.path.join('.') ?? 'database setting'} ${issue?.message ?? 'is invalid'}`,
    );
  }
  const {
    DATABASE_URL: url,
    ATTUNE__DATABASE__EMBEDDED_DIR: dir,
    ATTUNE__DATABASE__POOL_SIZE: poolSize,
  } = parsed.data;
  if (url !== undefined) return { kind: 'postgres', url, poolSize: poolSize ?? 10 };
  return { kind: 'pglite', dataDir: resolve(dir ?? DEFAULT_EMBEDDED_DIR) };
}
