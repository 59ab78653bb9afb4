import { createTestDatabase, type TestDatabase } from '@attune/db/testing';
import { afterAll, beforeAll } from 'vitest';
import { expirySuite } from './expiry-suite.js';
import { lifecycleSuite } from './lifecycle-suite.js';
import { repositorySuite } from './repository-suite.js';
import { resolverSuite } from './resolver-suite.js';

// This file's own PostgreSQL database, cloned from the migrated template.
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

repositorySuite(() => db);
resolverSuite(() => db);
expirySuite(() => db);
lifecycleSuite(
  () => db,
  () => createTestDatabase(),
);
