/**
 * What the seccomp tests give hostile.syscalls (test/fixtures/syscalls.py) and expect of it: the numbers of the
 * calls the filter refuses on this arch, the calls that succeed (or fail otherwise than EPERM) without a filter, the
 * errnos the filter returns instead of EPERM, and whether this host has vsock at all.
 */
import { spawnSync } from 'node:child_process';
import { SYSCALL_TABLES } from '../../src/sandbox/seccomp.js';

const SYSCALLS = SYSCALL_TABLES[process.arch];
/** hostile.syscalls' parameters on this arch; undefined where the filter has no table. */
export const syscallParams = SYSCALLS && {
  numbers: SYSCALLS.numbers,
  clone: SYSCALLS.clone,
  clone3: SYSCALLS.clone3,
  ...(SYSCALLS.foreignAbiFrom !== undefined ? { x32: SYSCALLS.foreignAbiFrom } : {}),
};
/** What hostile.syscalls gets without a filter (an errno other than EPERM, or 0): the probe's control. */
export const UNFILTERED = [
  'ptrace',
  'process_vm_readv',
  'kcmp',
  'keyctl',
  'unshare',
  'io_uring_setup',
  'clone3',
];
/** Under the filter: EPERM, but these. */
export const FILTERED_ERRNO: Record<string, number> = {
  'socket AF_VSOCK': 97 /* EAFNOSUPPORT */,
  clone3: 38 /* ENOSYS */,
};
/** Whether this host has vsock at all (else the filter's EAFNOSUPPORT proves nothing). */
export const HOST_VSOCK =
  spawnSync('python3', ['-c', 'import socket; socket.socket(40, socket.SOCK_STREAM)']).status === 0;
