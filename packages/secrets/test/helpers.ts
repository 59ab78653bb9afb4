import { Writable } from 'node:stream';
import type { Actor } from '@attune/core';
import type { EncryptionKey } from '@attune/crypto';
import type { PrismaClient } from '@attune/db';
import { type Logger, pino } from 'pino';
import {
  Keyring,
  KeyService,
  KeyStore,
  KeyVersionStore,
  type OwnerDirectory,
  ValueCipher,
} from '../src/index.js';

/** Who the tests act as. */
export const actor: Actor = { type: 'cli', id: 'tester@test', name: 'tester@test' };

/**
 * Packs and actions for the key service under test. In the apps this is the registry's `PackStore`; this package
 * cannot depend on the registry (which depends on it), so the tests read the two tables themselves.
 */
export function testOwners(prisma: PrismaClient): OwnerDirectory {
  const where = (idOrRef: number | string) =>
    typeof idOrRef === 'number' ? { id: idOrRef } : { ref: idOrRef };
  return {
    findPack: (idOrRef) => prisma.pack.findUnique({ where: where(idOrRef), select: { id: true, ref: true } }),
    findAction: (idOrRef) =>
      prisma.action.findUnique({ where: where(idOrRef), select: { id: true, ref: true } }),
  };
}

/** A key service over the test database. */
export function keyService(
  prisma: PrismaClient,
  encryption: EncryptionKey | Keyring | undefined,
  logger: Logger,
  maxVersions?: number,
): KeyService {
  const keyring = encryption instanceof Keyring ? encryption : Keyring.of(encryption);
  return new KeyService({
    store: new KeyStore(prisma),
    versions: new KeyVersionStore(prisma),
    owners: testOwners(prisma),
    cipher: new ValueCipher({ keyring }),
    logger,
    ...(maxVersions === undefined ? {} : { maxVersions }),
  });
}

/** A pino logger whose lines are kept, so tests can assert what was (and was not) logged. */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

let counter = 0;
/** A fresh pack with actions, with refs unique within the test database. */
export async function makePack(
  prisma: PrismaClient,
  actionNames: string[] = ['act1', 'act2'],
): Promise<{ pack: { id: number; ref: string }; actions: Array<{ id: number; ref: string }> }> {
  counter += 1;
  const ref = `pack${counter}_${Math.random().toString(36).slice(2, 8)}`;
  const pack = await prisma.pack.create({ data: { ref, label: ref, version: '1.0.0' } });
  const actions = [];
  for (const name of actionNames) {
    actions.push(
      await prisma.action.create({
        data: {
          ref: `${ref}.${name}`,
          packId: pack.id,
          name,
          runnerType: 'shell',
          entryPoint: 'run.sh',
          timeoutSeconds: 60,
        },
      }),
    );
  }
  return { pack, actions };
}
