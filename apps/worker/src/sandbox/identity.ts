import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';

/** A Unix identity: who an action's processes run as, seen from the host. */
export interface ActionIdentity {
  readonly uid: number;
  readonly gid: number;
  /** The user name, or the uid as text when the host has no name for it. */
  readonly name: string;
}

/** The identity actions get on a root worker when `worker.run_as` is not set, if the host has this user. */
export const DEFAULT_RUN_AS = 'attune-action';

/** The identity of this (worker) process. */
export function processIdentity(): ActionIdentity {
  const info = userInfo();
  return { uid: info.uid, gid: info.gid, name: info.username };
}

/** `identity` as an operator reads it in logs and errors: `nobody (uid 65534, gid 65534)`. */
export function describeIdentity(identity: ActionIdentity): string {
  return `${identity.name} (uid ${identity.uid}, gid ${identity.gid})`;
}

/**
 * Finds `spec` (a user name, a uid, or `uid:gid`) in the host's user database: `getent passwd` (so NSS sources such
 * as LDAP count), or /etc/passwd where getent is missing. A bare uid unknown to the host is accepted with gid = uid
 * (switching to an unnamed uid is legitimate and common in containers). Returns undefined for an unknown name.
 */
export function lookupIdentity(spec: string): ActionIdentity | undefined {
  const numeric = /^(\d+)(?::(\d+))?$/.exec(spec);
  const entry = passwdEntry(numeric ? (numeric[1] as string) : spec);
  if (numeric) {
    const uid = Number(numeric[1]);
    const gid = numeric[2] !== undefined ? Number(numeric[2]) : (entry?.gid ?? uid);
    return { uid, gid, name: entry?.name ?? String(uid) };
  }
  return entry;
}

function passwdEntry(key: string): ActionIdentity | undefined {
  const getent = spawnSync('getent', ['passwd', key], {
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin:/usr/sbin:/sbin' },
  });
  let lines: string[];
  if (getent.error === undefined && getent.status !== null && getent.status <= 2) {
    lines = getent.stdout.split('\n'); // status 2: no such entry
  } else {
    try {
      lines = readFileSync('/etc/passwd', 'utf8').split('\n');
    } catch {
      return undefined;
    }
  }
  for (const line of lines) {
    const [name, , uid, gid] = line.split(':');
    if (
      name === undefined ||
      uid === undefined ||
      gid === undefined ||
      !/^\d+$/.test(uid) ||
      !/^\d+$/.test(gid)
    )
      continue;
    if (name === key || uid === key) return { name, uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}
