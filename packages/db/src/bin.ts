#!/usr/bin/env node
/**
 * `attune-db migrate [--resolve-rolled-back NAME]`: applies the migrations to the configured database
 * (DATABASE_URL, else the embedded PGlite folder). Becomes `attune db migrate` in the project CLI. A standalone tool
 * below `@attune/config`: it reads DATABASE_URL and ATTUNE__DATABASE__* from the environment itself.
 */
import { createLogger, stderrDestination } from '@attune/core';
import { databaseConfigFromEnv } from './config.js';
import { DbError } from './errors.js';
import { migrate, resolveRolledBack } from './migrator.js';
import { openDatabase } from './open-database.js';

const USAGE = `Usage: attune-db migrate [--resolve-rolled-back NAME]

Applies pending migrations from prisma/migrations to the database named by DATABASE_URL, or to the embedded
database in ATTUNE__DATABASE__EMBEDDED_DIR (default .attune/pglite) when DATABASE_URL is not set.
  --resolve-rolled-back NAME   mark an unfinished migration as rolled back, after undoing its partial changes
`;

async function main(argv: string[]): Promise<number> {
  const [command, flag, name] = argv;
  if (command !== 'migrate' || (flag !== undefined && (flag !== '--resolve-rolled-back' || !name))) {
    process.stderr.write(USAGE);
    return command === '--help' || command === '-h' ? 0 : 2;
  }
  const logger = createLogger({ name: 'attune-db', destination: stderrDestination() });
  let db: Awaited<ReturnType<typeof openDatabase>> | undefined;
  try {
    const config = databaseConfigFromEnv(process.env);
    db = await openDatabase(config);
    if (name) {
      const done = await resolveRolledBack(db.sql, name);
      process.stdout.write(
        done ? `marked ${name} as rolled back\n` : `no unfinished migration named ${name}\n`,
      );
      return done ? 0 : 1;
    }
    const report = await migrate(db.sql, { logger });
    const where = config.kind === 'postgres' ? 'PostgreSQL' : `embedded database at ${config.dataDir}`;
    process.stdout.write(
      `${where}: ${report.applied.length} migration(s) applied, ${report.alreadyApplied.length} already applied\n`,
    );
    return 0;
  } catch (error) {
    if (error instanceof DbError) {
      process.stderr.write(`attune-db: ${error.message} [${error.code}]\n`);
      return 1;
    }
    throw error;
  } finally {
    await db?.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Connection errors name the host, never the URL's password.
    process.stderr.write(`attune-db: ${error instanceof Error ? error.message : 'unknown error'}\n`);
    process.exitCode = 1;
  },
);
