import { hostname, userInfo } from 'node:os';

/**
 * Who asks: every service call that changes or reveals a secret, an execution or a token takes one, so that logs
 * (and the audit log, docs/glossary.md#actor) can say who did it.
 * - `token`: an API request; id and name of the token.
 * - `cli`: a local `attune` command; the operating-system user and host (`alice@ops1`).
 * - `worker`: a worker process; its worker id.
 * - `system`: Attune itself (start-up, the demo, migrations).
 */
export interface Actor {
  readonly type: 'token' | 'cli' | 'worker' | 'system';
  readonly id: string;
  readonly name: string;
  /** The client address of an API request (recorded in the audit log). */
  readonly source?: string | undefined;
  /** The request id of an API request (recorded in the audit log). */
  readonly requestId?: string | undefined;
}

/** The actor of an API request authenticated by a token. */
export function tokenActor(tokenId: number | string, tokenName: string): Actor {
  return { type: 'token', id: String(tokenId), name: tokenName };
}

/** The actor of a local CLI command: the operating-system user on this host. */
export function cliActor(): Actor {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    // A uid without a passwd entry (containers): the uid is still who it is.
    user = `uid-${process.getuid?.() ?? 'unknown'}`;
  }
  const name = `${user}@${hostname()}`;
  return { type: 'cli', id: name, name };
}

/** The actor of a worker process. */
export function workerActor(workerId: string): Actor {
  return { type: 'worker', id: workerId, name: workerId };
}

/** Attune itself. */
export const SYSTEM_ACTOR: Actor = Object.freeze({ type: 'system', id: 'system', name: 'system' });

/** The fields a log line carries for an actor (never more: no token, no address). */
export function actorFields(actor: Actor): { actor: string } {
  return { actor: `${actor.type}:${actor.name}` };
}
