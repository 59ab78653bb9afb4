import { createTestDatabase, type TestDatabase } from '@attune/db/testing';
import { afterAll, beforeAll } from 'vitest';
import { expirySuite } from './expiry-suite.js';
import { lifecycleSuite } from './lifecycle-suite.js';
import { repositorySuite } from './repository-suite.js';
import { resolverSuite } from './resolver-suite.js';

// The same suites on the embedded default: an in-memory PGlite database, migrated by the same applier.
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ kind: 'pglite' });
});
afterAll(async () => {
  await db?.drop();
});

repositorySuite(() => db);
resolverSuite(() => db);
expirySuite(() => db);
lifecycleSuite(
  () => db,
  () => createTestDatabase({ kind: 'pglite' }),
);
