import { Writable } from 'node:stream';
import type { PrismaClient } from '@attune/db';
import { type Logger, pino } from 'pino';

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
