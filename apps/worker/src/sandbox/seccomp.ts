import {
  closeSync,
  constants,
  existsSync,
  fchmodSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';

/**
 * The system calls the sandbox's seccomp filter refuses (with EPERM, as Docker's default profile does), by why.
 * What an unprivileged action has no use for and a hostile one would reach for: tracing another process (a same-uid
 * process — the sandbox's own init — is otherwise open to ptrace), the kernel's keyrings, the kernel interfaces behind
 * most local privilege escalations of recent years, and what needs privileges the sandbox already drops (mounts,
 * namespaces, modules, reboot: refused twice is cheaper than an unforeseen way to regain them). Every call of a
 * 32-bit or x32 ABI is refused too: those are numbered differently, and the checks below are for the native ABI.
 * Besides, `socket` refuses the AF_VSOCK family (EAFNOSUPPORT): vsock is not namespaced, so it would reach the
 * hypervisor's services even from an action without network; `clone` refuses every namespace flag (EPERM: bwrap
 * before 0.8.0 has no --disable-userns, and a new user namespace gives back every capability in it); and `clone3`,
 * whose flags are behind a pointer a filter cannot read, fails with ENOSYS, so that the C library falls back to
 * `clone` (as Docker's profile does). A deny-list: calls added to the kernel after these tables are let through.
 * See docs/worker.md#seccomp-filter.
 */
export const DENIED_SYSCALLS = {
  'tracing other processes': [
    'ptrace',
    'process_vm_readv',
    'process_vm_writev',
    'pidfd_getfd',
    'kcmp',
    'move_pages',
    'migrate_pages',
  ],
  'kernel keyrings': ['keyctl', 'add_key', 'request_key'],
  'kernel attack surface': [
    'bpf',
    'perf_event_open',
    'userfaultfd',
    'io_uring_setup',
    'io_uring_enter',
    'io_uring_register',
    'modify_ldt',
  ],
  'mounts and namespaces': [
    'mount',
    'umount2',
    'pivot_root',
    'unshare',
    'setns',
    'open_tree',
    'move_mount',
    'fsopen',
    'fsconfig',
    'fsmount',
    'fspick',
    'mount_setattr',
    'open_tree_attr',
    'chroot',
  ],
  'system administration': [
    'kexec_load',
    'kexec_file_load',
    'init_module',
    'finit_module',
    'delete_module',
    'acct',
    'swapon',
    'swapoff',
    'reboot',
    'syslog',
    'open_by_handle_at',
    'quotactl',
    'quotactl_fd',
    'lookup_dcookie',
    'fanotify_init',
    'vhangup',
    'uselib',
  ],
} as const;

export type DeniedSyscall = (typeof DENIED_SYSCALLS)[keyof typeof DENIED_SYSCALLS][number];

/** One architecture: its AUDIT_ARCH value (seccomp_data.arch) and its system call numbers. */
export interface SyscallTable {
  readonly auditArch: number;
  /** The numbers at and above this belong to another ABI of the same arch value (x32 on x86_64). */
  readonly foreignAbiFrom?: number;
  /** Every denied call this arch has; those it does not have are in `absent`. */
  readonly numbers: Readonly<Partial<Record<DeniedSyscall, number>>>;
  readonly absent: readonly DeniedSyscall[];
  /** `socket`, whose AF_VSOCK family is refused. */
  readonly socket: number;
  /** `clone`, whose namespace flags are refused, and `clone3`, refused whole with ENOSYS. */
  readonly clone: number;
  readonly clone3: number;
}

/** Calls added since Linux 5.1 have one number on every architecture (424 and up). */
const UNIFIED = {
  pidfd_getfd: 438,
  io_uring_setup: 425,
  io_uring_enter: 426,
  io_uring_register: 427,
  open_tree: 428,
  move_mount: 429,
  fsopen: 430,
  fsconfig: 431,
  fsmount: 432,
  fspick: 433,
  mount_setattr: 442,
  quotactl_fd: 443,
  open_tree_attr: 467,
} as const satisfies Partial<Record<DeniedSyscall, number>>;
const UNIFIED_CLONE3 = 435;

/**
 * The numbers, from the kernel's headers: arch/x86/entry/syscalls/syscall_64.tbl (asm/unistd_64.h) for x86_64, and
 * the generic table (asm-generic/unistd.h) that arm64 uses. seccomp.test.ts checks them against the host's headers
 * (open_tree_attr, 467 everywhere since Linux 6.15, is newer than some).
 */
export const SYSCALL_TABLES: Readonly<Partial<Record<NodeJS.Architecture, SyscallTable>>> = {
  x64: {
    auditArch: 0xc000003e, // AUDIT_ARCH_X86_64
    foreignAbiFrom: 0x40000000, // __X32_SYSCALL_BIT
    numbers: {
      ...UNIFIED,
      ptrace: 101,
      process_vm_readv: 310,
      process_vm_writev: 311,
      kcmp: 312,
      move_pages: 279,
      migrate_pages: 256,
      keyctl: 250,
      add_key: 248,
      request_key: 249,
      bpf: 321,
      perf_event_open: 298,
      userfaultfd: 323,
      modify_ldt: 154,
      mount: 165,
      umount2: 166,
      pivot_root: 155,
      unshare: 272,
      setns: 308,
      chroot: 161,
      kexec_load: 246,
      kexec_file_load: 320,
      init_module: 175,
      finit_module: 313,
      delete_module: 176,
      acct: 163,
      swapon: 167,
      swapoff: 168,
      reboot: 169,
      syslog: 103,
      open_by_handle_at: 304,
      quotactl: 179,
      lookup_dcookie: 212,
      fanotify_init: 300,
      vhangup: 153,
      uselib: 134,
    },
    absent: [],
    socket: 41,
    clone: 56,
    clone3: UNIFIED_CLONE3,
  },
  arm64: {
    auditArch: 0xc00000b7, // AUDIT_ARCH_AARCH64
    numbers: {
      ...UNIFIED,
      ptrace: 117,
      process_vm_readv: 270,
      process_vm_writev: 271,
      kcmp: 272,
      move_pages: 239,
      migrate_pages: 238,
      keyctl: 219,
      add_key: 217,
      request_key: 218,
      bpf: 280,
      perf_event_open: 241,
      userfaultfd: 282,
      mount: 40,
      umount2: 39,
      pivot_root: 41,
      unshare: 97,
      setns: 268,
      chroot: 51,
      kexec_load: 104,
      kexec_file_load: 294,
      init_module: 105,
      finit_module: 273,
      delete_module: 106,
      acct: 89,
      swapon: 224,
      swapoff: 225,
      reboot: 142,
      syslog: 116,
      open_by_handle_at: 265,
      quotactl: 60,
      lookup_dcookie: 18,
      fanotify_init: 262,
      vhangup: 58,
    },
    absent: ['modify_ldt', 'uselib'],
    socket: 198,
    clone: 220,
    clone3: UNIFIED_CLONE3,
  },
};

// Classic BPF, as seccomp runs it over struct seccomp_data { int nr; __u32 arch; __u64 ip; __u64 args[6]; }.
const LD_W_ABS = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JEQ_K = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JGE_K = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const JSET_K = 0x45; // BPF_JMP | BPF_JSET | BPF_K
const RET_K = 0x06; // BPF_RET | BPF_K
const OFFSET_NR = 0;
const OFFSET_ARCH = 4;
/** The low 32 bits of args[0], on a little-endian arch (x86_64 and arm64 both are). */
const OFFSET_ARG0_LOW = 16;
const AF_VSOCK = 40;
const EAFNOSUPPORT = 97;
const ENOSYS = 38;
/** CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET (not NEWTIME, 0x80: in clone, the exit signal's). */
const CLONE_NAMESPACE_FLAGS = 0x7e020000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const SECCOMP_RET_ERRNO = 0x00050000;
const EPERM = 1;

/** One instruction of a classic BPF program. */
export interface BpfInstruction {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

/**
 * The filter for `arch` (default: this process's), as bwrap's `--seccomp` reads it (the kernel's struct sock_filter,
 * 8 bytes each, native byte order); undefined for an architecture without a table here.
 */
export function seccompProgram(arch: NodeJS.Architecture = process.arch): BpfInstruction[] | undefined {
  const table = SYSCALL_TABLES[arch];
  if (!table) return undefined;
  const deny = { code: RET_K, jt: 0, jf: 0, k: SECCOMP_RET_ERRNO | EPERM };
  const program: BpfInstruction[] = [
    { code: LD_W_ABS, jt: 0, jf: 0, k: OFFSET_ARCH },
    // Another arch value (i386 on x86_64, arm32 on arm64): another numbering, refused whole.
    { code: JEQ_K, jt: 1, jf: 0, k: table.auditArch },
    deny,
    { code: LD_W_ABS, jt: 0, jf: 0, k: OFFSET_NR },
  ];
  if (table.foreignAbiFrom !== undefined)
    program.push({ code: JGE_K, jt: 0, jf: 1, k: table.foreignAbiFrom }, deny);
  for (const nr of [...new Set(Object.values(table.numbers))].sort((a, b) => a - b))
    program.push({ code: JEQ_K, jt: 0, jf: 1, k: nr }, deny);
  const allow = { code: RET_K, jt: 0, jf: 0, k: SECCOMP_RET_ALLOW };
  program.push(
    { code: JEQ_K, jt: 0, jf: 1, k: table.clone3 },
    { code: RET_K, jt: 0, jf: 0, k: SECCOMP_RET_ERRNO | ENOSYS },
    { code: JEQ_K, jt: 2, jf: 0, k: table.socket }, // → socket's check
    { code: JEQ_K, jt: 5, jf: 0, k: table.clone }, // → clone's check
    allow, // any other call
    // socket(AF_VSOCK, …): EAFNOSUPPORT, as for a family the kernel lacks.
    { code: LD_W_ABS, jt: 0, jf: 0, k: OFFSET_ARG0_LOW },
    { code: JEQ_K, jt: 0, jf: 1, k: AF_VSOCK },
    { code: RET_K, jt: 0, jf: 0, k: SECCOMP_RET_ERRNO | EAFNOSUPPORT },
    allow,
    // clone(flags with a namespace, …): EPERM.
    { code: LD_W_ABS, jt: 0, jf: 0, k: OFFSET_ARG0_LOW },
    { code: JSET_K, jt: 0, jf: 1, k: CLONE_NAMESPACE_FLAGS },
    deny,
    allow,
  );
  return program;
}

/** The program's bytes, as struct sock_filter[] in this host's byte order. */
export function encodeProgram(program: readonly BpfInstruction[]): Buffer {
  const out = Buffer.alloc(program.length * 8);
  const le = endianness() === 'LE';
  program.forEach(({ code, jt, jf, k }, i) => {
    if (le) {
      out.writeUInt16LE(code, i * 8);
      out.writeUInt32LE(k >>> 0, i * 8 + 4);
    } else {
      out.writeUInt16BE(code, i * 8);
      out.writeUInt32BE(k >>> 0, i * 8 + 4);
    }
    out.writeUInt8(jt, i * 8 + 2);
    out.writeUInt8(jf, i * 8 + 3);
  });
  return out;
}

const SECCOMP_FILE = 'seccomp.bpf';

/**
 * The filter for this host as a file in `dir` (the worker's scratch root, which actions cannot write):
 * {@link SECCOMP_FILE}, mode 0644 (the spawn helper may run as the actions' identity and must open it; it holds no
 * secret). Written new (never through a link), then renamed into place; written again by {@link SeccompFilter.ensure}
 * if something removed it (a /tmp cleaner, for a scratch root there).
 */
export class SeccompFilter {
  readonly #bytes: Buffer;

  private constructor(
    readonly path: string,
    bytes: Buffer,
  ) {
    this.#bytes = bytes;
  }

  /** The filter in `dir`, written now; undefined where this architecture has no table. */
  static create(dir: string): SeccompFilter | undefined {
    const program = seccompProgram();
    if (!program) return undefined;
    const filter = new SeccompFilter(join(dir, SECCOMP_FILE), encodeProgram(program));
    filter.#write();
    return filter;
  }

  /**
   * Writes the file again if it is gone. Never throws: a filter it cannot write is one the spawner cannot open, and
   * that start is refused with a message naming the file (SpawnSpec.seccompFilter).
   */
  ensure(): void {
    if (existsSync(this.path)) return;
    try {
      this.#write();
    } catch {
      // reported by the spawner
    }
  }

  #write(): void {
    const next = `${this.path}.${process.pid}.new`;
    rmSync(next, { force: true });
    const fd = openSync(
      next,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o644,
    );
    try {
      fchmodSync(fd, 0o644);
      writeSync(fd, this.#bytes);
    } finally {
      closeSync(fd);
    }
    renameSync(next, this.path);
  }
}
