import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type BpfInstruction,
  DENIED_SYSCALLS,
  encodeProgram,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SYSCALL_TABLES,
  seccompProgram,
} from './seccomp.js';

/** Runs a classic BPF program the way seccomp does, over (nr, arch, args[0]): what it returns. */
function run(program: readonly BpfInstruction[], nr: number, arch: number, arg0 = 0n): number {
  const data = Buffer.alloc(64);
  data.writeInt32LE(nr, 0);
  data.writeUInt32LE(arch >>> 0, 4);
  data.writeBigUInt64LE(BigInt.asUintN(64, arg0), 16);
  let a = 0;
  for (let pc = 0; pc < program.length; pc++) {
    const { code, jt, jf, k } = program[pc] as BpfInstruction;
    if (code === 0x20) a = data.readUInt32LE(k);
    else if (code === 0x15) pc += a === k >>> 0 ? jt : jf;
    else if (code === 0x35) pc += a >>> 0 >= k >>> 0 ? jt : jf;
    else if (code === 0x45) pc += (a & k) !== 0 ? jt : jf;
    else if (code === 0x06) return k >>> 0;
    else throw new Error(`unexpected instruction ${code}`);
  }
  throw new Error('fell off the end of the program');
}

const EPERM = (SECCOMP_RET_ERRNO | 1) >>> 0;
const EAFNOSUPPORT = (SECCOMP_RET_ERRNO | 97) >>> 0;
const ENOSYS = (SECCOMP_RET_ERRNO | 38) >>> 0;
const names = Object.values(DENIED_SYSCALLS).flat();

/** `#define __NR_<name> <nr>` lines of a kernel header, where the host has it. */
function header(path: string): Map<string, number> | undefined {
  if (!existsSync(path)) return undefined;
  const found = new Map<string, number>();
  for (const m of readFileSync(path, 'utf8').matchAll(/#define __NR(?:3264)?_(\w+)\s+(\d+)\b/g))
    found.set(m[1] as string, Number(m[2]));
  return found;
}

describe('the seccomp filter', () => {
  for (const [arch, table] of Object.entries(SYSCALL_TABLES)) {
    if (!table) continue;
    const program = seccompProgram(arch as NodeJS.Architecture) as BpfInstruction[];

    it(`refuses every listed call on ${arch}, with EPERM`, () => {
      expect([...Object.keys(table.numbers), ...table.absent].sort()).toEqual([...names].sort());
      for (const nr of Object.values(table.numbers)) expect(run(program, nr, table.auditArch)).toBe(EPERM);
    });

    it(`lets every other call of ${arch}'s native ABI through`, () => {
      const denied = new Set<number>(Object.values(table.numbers));
      for (let nr = 0; nr < 512; nr++)
        if (!denied.has(nr) && nr !== table.clone3)
          expect(run(program, nr, table.auditArch, 2n)).toBe(SECCOMP_RET_ALLOW);
    });

    it(`refuses namespaces through clone, and clone3 with ENOSYS, on ${arch}`, () => {
      // fork() and pthread_create() through clone: SIGCHLD; CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|…
      for (const flags of [17n, 0x3d0f00n, 0x80n, 0x80000000n])
        expect(run(program, table.clone, table.auditArch, flags)).toBe(SECCOMP_RET_ALLOW);
      for (const flag of [
        0x20000n,
        0x2000000n,
        0x4000000n,
        0x8000000n,
        0x10000000n,
        0x20000000n,
        0x40000000n,
      ])
        expect(run(program, table.clone, table.auditArch, flag | 17n)).toBe(EPERM);
      expect(run(program, table.clone3, table.auditArch, 0n)).toBe(ENOSYS);
    });

    it(`refuses sockets of the AF_VSOCK family only, on ${arch}`, () => {
      expect(run(program, table.socket, table.auditArch, 40n)).toBe(EAFNOSUPPORT);
      // The family is an int: what the upper half of the register holds does not matter.
      expect(run(program, table.socket, table.auditArch, (1n << 32n) | 40n)).toBe(EAFNOSUPPORT);
      for (const family of [1n, 2n, 10n, 16n, 41n, 39n])
        expect(run(program, table.socket, table.auditArch, family)).toBe(SECCOMP_RET_ALLOW);
      // AF_VSOCK as the first argument of another call is nothing.
      expect(run(program, table.socket + 1, table.auditArch, 40n)).not.toBe(EAFNOSUPPORT);
    });

    it(`refuses every call of another ABI on ${arch}`, () => {
      // i386 (AUDIT_ARCH_I386) or arm32 (AUDIT_ARCH_ARM): 0 (read/restart_syscall) and 26 (ptrace on i386).
      for (const foreign of [0x40000003, 0x40000028])
        for (const nr of [0, 3, 26, 117]) expect(run(program, nr, foreign)).toBe(EPERM);
      if (table.foreignAbiFrom !== undefined)
        for (const nr of [0, 39, 101])
          expect(run(program, table.foreignAbiFrom + nr, table.auditArch)).toBe(EPERM);
    });

    it(`encodes ${arch}'s program as struct sock_filter[]`, () => {
      const bytes = encodeProgram(program);
      expect(bytes.length).toBe(program.length * 8);
      const last = program.length - 1;
      expect(bytes.readUInt32LE(last * 8 + 4)).toBe(SECCOMP_RET_ALLOW);
      expect(bytes.readUInt16LE(0)).toBe(0x20);
    });
  }

  it("numbers the calls as the host's kernel headers do", (ctx) => {
    const x64 =
      header('/usr/include/x86_64-linux-gnu/asm/unistd_64.h') ?? header('/usr/include/asm/unistd_64.h');
    const generic = header('/usr/include/asm-generic/unistd.h');
    if (!x64 && !generic) ctx.skip('no kernel headers here (linux-libc-dev)');
    for (const [table, found] of [
      [SYSCALL_TABLES.x64, x64],
      [SYSCALL_TABLES.arm64, generic],
    ] as const) {
      if (!table || !found) continue;
      for (const [name, nr] of [
        ...Object.entries(table.numbers),
        ['socket', table.socket] as const,
        ['clone', table.clone] as const,
        ['clone3', table.clone3] as const,
      ]) {
        // Newer than the host's headers: nothing to compare with.
        if (!found.has(name) && nr >= Math.max(...found.values())) continue;
        expect({ name, nr }).toEqual({ name, nr: found.get(name) });
      }
      for (const name of table.absent) expect(found.has(name)).toBe(false);
    }
  });

  it('has no table for an architecture it does not know', () => {
    expect(seccompProgram('riscv64')).toBeUndefined();
  });
});
