#!/usr/bin/env python3
"""Attune worker's spawn helper: a small long-lived process that starts action processes for the worker.

Why: the worker is a large Node process; fork() in it costs milliseconds and blocks its event loop for that time.
This process is small, and CPython's subprocess starts children with vfork/posix_spawn, so starting an action costs
little and never stalls the worker. See docs/worker.md#spawn-helper.

Protocol: one JSON object per line on stdin and stdout.
  request  {"op":"spawn","id":N,"argv":[...],"env":{...},"cwd":"...","stdin":"text",
            "uid":U?,"gid":G?,"umask":M?,"supervisor":bool}
           {"op":"kill","id":N,"signal":15}
           {"op":"sweep","id":N,"uid":U}
           → {"id":N,"ev":"swept","count":K}
  event    {"id":N,"ev":"started","pid":P}
           {"id":N,"ev":"sandbox","pid":P}   (a supervisor's sandbox init, as bwrap reported it)
           {"id":N,"ev":"out","fd":1|2,"data":"<base64>"}
           {"id":N,"ev":"exit","code":C|null,"signal":S|null}
           {"id":N,"ev":"error","message":"..."}   (the process could not be started)
Every child runs in a new session (its own process group); "kill" signals the whole group. When a child exits,
what is left of its group is killed, its pipes are drained, and then "exit" is sent: all of a child's output
precedes its exit event. A pipe still open DRAIN_SECONDS after the exit (a process outside the group holds it) is
read for what it holds at that moment, however long this helper took to get there, and then closed.

The environment a child gets is exactly the "env" of its request; this helper's own environment is not passed on.
With "uid"/"gid" other than this process's own (a root helper), the child switches to that identity, with no
supplementary groups, before exec. A root worker starts this helper as the actions' identity, so that no request
needs a switch: children start with vfork, and no root process parses requests or starts actions.
With "supervisor" (bwrap), a graceful signal goes to the rest of the child's group, not to the child itself, so that
it outlives the action's graceful exit; SIGKILL goes to the whole group and to the sandbox's init (bwrap reports it on
--json-status-fd, which this helper adds; a pidfd of it is held), which ends the sandbox's PID namespace: when the
child exits, or is killed, nothing of its sandbox runs on, even where the action disarmed --die-with-parent.
With "dieWithParent", the child gets SIGKILL when this helper dies (PR_SET_PDEATHSIG), so a dead helper leaves no
action running unsupervised; the worker also kills the groups of a helper that died.

Nothing here logs or echoes request contents: env values are secrets. A request that cannot be carried out is
answered with an "error" event naming only the kind of error, and this process carries on.
"""
import base64
import json
import os
import re
import selectors
import signal
import subprocess
import sys
import time

CHUNK = 65536
DRAIN_SECONDS = 1.0


def pipe_max_size():
    """The most a pipe can hold (an unprivileged process may grow its pipes up to it): what a final drain must read."""
    try:
        with open("/proc/sys/fs/pipe-max-size") as f:
            return max(int(f.read()), CHUNK)
    except (OSError, ValueError):
        return 1 << 20


# What a child wrote before it exited is all in its pipes; past this, the bytes come from a process outside its group.
DRAIN_LIMIT = pipe_max_size() + CHUNK
PR_SET_DUMPABLE = 4


def not_dumpable():
    """Requests hold secrets: no process of this helper's uid (the actions' identity, in the sandbox) may read this
    one's memory, environment or file descriptors (/proc/<pid>/mem needs a dumpable process). Children are not
    affected: exec makes them dumpable again."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (ImportError, OSError, AttributeError):
        pass


def no_core_dumps():
    """No core dump of this helper or of any child: a crash would write secrets to disk (the kernel writes none with
    RLIMIT_CORE 0, and systemd-coredump and apport honour it). The hard limit too, so an action cannot raise it; every
    child inherits it. The worker lowers its own before it starts this helper; this holds where it could not."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, OSError, ValueError):
        pass


class Child:
    __slots__ = ("id", "proc", "open_fds", "stdin_data", "exited_at", "status", "supervisor", "info_fd", "info", "init", "init_pid")

    def __init__(self, cid, proc, stdin_data, supervisor, info_fd):
        self.id = cid
        self.proc = proc
        self.open_fds = 2
        self.stdin_data = stdin_data
        self.exited_at = None
        self.status = None
        self.supervisor = supervisor
        self.info_fd = info_fd  # bwrap's --json-status-fd, read end (supervisors only)
        self.info = b""
        self.init = None  # a pidfd of the sandbox's init (its PID namespace's pid 1), once bwrap reported it
        self.init_pid = None

    def read_info(self):
        """Reads what bwrap reported so far (it must be read to its end: bwrap dies of SIGPIPE writing to a closed
        pipe); opens a pidfd of the sandbox's init at its first report of it. Returns whether the pipe ended."""
        while self.info_fd is not None:
            try:
                chunk = os.read(self.info_fd, 4096)
            except BlockingIOError:
                return False
            except OSError:
                return True
            if not chunk:
                return True
            if self.init is not None or len(self.info) > 65536:
                continue  # known already (or not bwrap's report): drained
            self.info += chunk
            match = re.search(rb'"child-pid"\s*:\s*(\d+)', self.info)
            if match:
                self.init_pid = int(match.group(1))
                try:
                    self.init = os.pidfd_open(self.init_pid)
                except ProcessLookupError:
                    pass  # gone already, and with it its namespace
                except OSError:
                    # No pidfd (out of descriptors or memory): the sandbox could not be killed through its init
                    # later, so it is killed now (by pid: it runs, so the pid is its init's), failing the execution.
                    for target, kill in ((self.init_pid, os.kill), (self.proc.pid, os.killpg)):
                        try:
                            kill(target, signal.SIGKILL)
                        except OSError:
                            pass
        return True

    def kill_sandbox(self):
        """SIGKILL to the sandbox's init: its whole PID namespace dies with it, whatever the action did to bwrap
        (killed it: its group is the action's) or to init (cleared its parent-death signal through ptrace)."""
        self.read_info()
        if self.init is not None:
            try:
                signal.pidfd_send_signal(self.init, signal.SIGKILL)
            except OSError:
                pass


def sweep(uid, keep_sessions):
    """Kills every process of uid `uid` outside the sessions of running children: what actions left behind
    (daemons that called setsid, processes that outlived their action). Returns how many it found.

    With no running child of that uid to keep, the kill is complete: a process of that uid sends SIGKILL to every
    other process of it at once (kill(-1)), which the kernel does atomically with forks, so a leftover that forks
    continuously (a new pid for every scan) dies too. With children to keep, /proc is scanned instead, again while a
    scan finds any (a pid gone before its kill counts: its child is the next one); a leftover that keeps forking can
    outrun the scans then, and dies at the next sweep with none running. Zombies are dead already: they are left to
    their parent (init) to reap."""
    if uid == 0 or uid == os.getuid():
        return 0  # never this helper's own uid, nor root's
    found = 0
    for _round in range(50):
        seen = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            try:
                if os.stat(f"/proc/{entry}").st_uid != uid:  # the owner of /proc/<pid> is its effective uid
                    continue
                fields = stat_fields(f"/proc/{entry}/stat")
                if fields[0] in (b"Z", b"X") and not has_live_thread(entry):
                    continue  # dead already, waiting for its parent; not a leader whose other threads run on
                session = int(fields[3])
            except (OSError, ValueError, IndexError):
                continue
            if session in keep_sessions or pid in keep_sessions:
                continue
            seen += 1
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        found += seen
        if not keep_sessions and os.getuid() == 0:
            kill_every_process_of(uid)
            break
        if not seen:
            break
    return found


def stat_fields(path):
    """The fields of a /proc stat file after the command name (which may hold spaces and parentheses): state, ppid,
    pgrp, session, … (index 0 is field 3 of proc(5)). Raises OSError when the process is gone."""
    with open(path, "rb") as f:
        text = f.read()
    return text[text.rindex(b")") + 2 :].split()


def has_live_thread(pid):
    """Whether a process has a thread that is not dead (its main thread may have ended while others run on)."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    for tid in tids:
        try:
            if stat_fields(f"/proc/{pid}/task/{tid}/stat")[0] not in (b"Z", b"X"):
                return True
        except (OSError, ValueError, IndexError):
            pass
    return False


def kill_every_process_of(uid):
    """SIGKILL to every process of `uid`, from a child of this (root) helper that becomes `uid`: kill(-1) reaches
    every process the sender may signal but itself, and no process it reaches can fork past it."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setuid(uid)  # the gid stays root's: no process of uid may trace this one
            os.kill(-1, signal.SIGKILL)
        except BaseException:  # noqa: BLE001 - nothing may escape a forked child
            os._exit(1)
        os._exit(0)
    os.waitpid(pid, 0)


def close_fds(*fds):
    for fd in fds:
        if fd is not None:
            os.close(fd)


def signal_group_members(pgid, sig):
    """Signals every process of group pgid but its leader."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == pgid:
            continue
        try:
            if int(stat_fields(f"/proc/{entry}/stat")[2]) == pgid:
                os.kill(int(entry), sig)
        except (OSError, ValueError, IndexError):
            pass


def main():
    not_dumpable()
    no_core_dumps()
    out_fd = sys.stdout.fileno()
    sel = selectors.DefaultSelector()
    children = {}
    by_pid = {}

    def emit(obj):
        # Every byte, in a loop: a write the worker holds up (it reads slowly) and a signal interrupts (SIGCHLD, when
        # a child exits meanwhile) returns having written part of the line; the rest must follow, or the event is
        # cut and the worker loses it (an output chunk: the action's output with a hole in it).
        data = memoryview(json.dumps(obj, separators=(",", ":")).encode() + b"\n")
        try:
            while data:
                data = data[os.write(out_fd, data) :]
        except OSError:
            # The worker is gone (EPIPE) before this helper read the end of its requests: no action may run on
            # unsupervised, holding its secrets.
            for child in list(children.values()):
                kill_group(child, signal.SIGKILL)
            os._exit(1)

    # SIGCHLD wakes the selector through a pipe, so exits are noticed without polling.
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    sel.register(wake_r, selectors.EVENT_READ, ("wake", None))

    stdin_fd = sys.stdin.fileno()
    os.set_blocking(stdin_fd, False)
    sel.register(stdin_fd, selectors.EVENT_READ, ("ctl", None))
    pending = b""
    ctl_open = True

    def spawn(req):
        cid = req["id"]
        options = {}
        # Only a switch to another identity needs one (and costs a fork instead of a vfork).
        if req.get("uid") is not None and (int(req["uid"]), int(req["gid"])) != (os.getuid(), os.getgid()):
            options.update(user=int(req["uid"]), group=int(req["gid"]), extra_groups=[])
        if req.get("umask") is not None:
            options["umask"] = int(req["umask"])
        argv = list(req["argv"])
        info_r = info_w = seccomp_fd = None
        if req.get("supervisor"):
            try:
                # bwrap reports its sandbox's init (host pid) on this pipe: the sandbox is killed through it.
                info_r, info_w = os.pipe()
                os.set_blocking(info_r, False)
                if req.get("seccompFilter"):
                    # The seccomp filter bwrap installs on the action, read by bwrap from this descriptor.
                    seccomp_fd = os.open(req["seccompFilter"], os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
            except OSError as error:
                close_fds(info_r, info_w)
                what = f"the seccomp filter {req['seccompFilter']}" if info_w is not None else "a status pipe"
                emit({"id": cid, "ev": "error", "message": f"{what} cannot be opened: {error.strerror}"})
                return
            if seccomp_fd is not None:
                argv[1:1] = ["--seccomp", str(seccomp_fd)]
            argv[1:1] = ["--json-status-fd", str(info_w)]
            options["pass_fds"] = (info_w,) if seccomp_fd is None else (info_w, seccomp_fd)
        try:
            proc = subprocess.Popen(
                argv,
                env=req["env"],
                cwd=req.get("cwd"),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                close_fds=True,
                **options,
            )
        except OSError as error:
            close_fds(info_r, info_w, seccomp_fd)
            # strerror and the file name are the OS's words about argv[0] or cwd, never about env values.
            where = f" ({error.filename})" if getattr(error, "filename", None) else ""
            emit({"id": cid, "ev": "error", "message": f"{type(error).__name__}: {error.strerror or 'failed'}{where}"})
            return
        except Exception as error:  # noqa: BLE001 - e.g. ValueError for a NUL; its text could quote a value
            close_fds(info_r, info_w, seccomp_fd)
            emit({"id": cid, "ev": "error", "message": f"{type(error).__name__} in the spawn request"})
            return
        close_fds(info_w, seccomp_fd)
        child = Child(cid, proc, req.get("stdin", "").encode(), bool(req.get("supervisor")), info_r)
        if info_r is not None:
            sel.register(info_r, selectors.EVENT_READ, ("info", child))
        children[cid] = child
        by_pid[proc.pid] = child
        emit({"id": cid, "ev": "started", "pid": proc.pid})
        for fd_obj, num in ((proc.stdout, 1), (proc.stderr, 2)):
            os.set_blocking(fd_obj.fileno(), False)
            sel.register(fd_obj.fileno(), selectors.EVENT_READ, ("out", (child, num)))
        os.set_blocking(proc.stdin.fileno(), False)
        if child.stdin_data:
            sel.register(proc.stdin.fileno(), selectors.EVENT_WRITE, ("in", child))
        else:
            proc.stdin.close()

    def drop_info(child):
        """Closes bwrap's status pipe (the init pidfd stays, until the child is finished)."""
        if child.info_fd is not None:
            try:
                sel.unregister(child.info_fd)
            except (KeyError, ValueError):
                pass
            os.close(child.info_fd)
            child.info_fd = None

    def kill_group(child, sig):
        if child.supervisor and sig != signal.SIGKILL and child.status is None:
            signal_group_members(child.proc.pid, sig)
            return
        if child.supervisor and sig == signal.SIGKILL:
            child.kill_sandbox()
            drop_info(child)
        try:
            os.killpg(child.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def emit_out(child, num, chunk):
        emit({"id": child.id, "ev": "out", "fd": num, "data": base64.b64encode(chunk).decode()})

    def drain_rest(child, fd, num):
        left = DRAIN_LIMIT
        while left > 0:
            try:
                chunk = os.read(fd, min(CHUNK, left))
            except OSError:  # BlockingIOError: nothing more now
                return
            if not chunk:
                return
            left -= len(chunk)
            emit_out(child, num, chunk)

    def finish_if_done(child):
        if child.status is None or (child.open_fds > 0 and time.monotonic() - child.exited_at < DRAIN_SECONDS):
            return
        for fd_obj, num in ((child.proc.stdout, 1), (child.proc.stderr, 2)):
            try:
                sel.unregister(fd_obj.fileno())
            except (KeyError, ValueError):
                pass  # at end of file already
            else:
                # The deadline counts from when the exit was noticed; this helper may have been busy since (a slow
                # worker blocks its writes): what the pipe holds now is the child's, and is delivered, not dropped.
                drain_rest(child, fd_obj.fileno(), num)
            fd_obj.close()
        status = child.status
        code = os.waitstatus_to_exitcode(status)
        emit({"id": child.id, "ev": "exit", "code": code if code >= 0 else None, "signal": -code if code < 0 else None})
        children.pop(child.id, None)
        drop_info(child)
        if child.init is not None:
            os.close(child.init)
            child.init = None

    def reap():
        for pid, child in list(by_pid.items()):
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done, status = pid, 0
            if done:
                del by_pid[pid]
                child.status = status
                child.exited_at = time.monotonic()
                child.proc.returncode = 0  # reaped here; keep Popen from waiting again
                kill_group(child, signal.SIGKILL)  # leftovers of the action's group die with it
                finish_if_done(child)

    while ctl_open or children:
        timeout = DRAIN_SECONDS / 4 if any(c.status is not None for c in children.values()) else None
        for key, mask in sel.select(timeout):
            if sel.get_map().get(key.fd) is not key:
                # Unregistered earlier in this batch (a finished child's pipes are closed, and their numbers may be
                # a new child's already): reading it would fail, or take the new child's output.
                continue
            kind, data = key.data
            if kind == "wake":
                try:
                    while os.read(wake_r, 512):
                        pass
                except BlockingIOError:
                    pass
                reap()
            elif kind == "ctl":
                try:
                    chunk = os.read(stdin_fd, CHUNK)
                except BlockingIOError:
                    continue
                if not chunk:
                    ctl_open = False
                    sel.unregister(stdin_fd)
                    for child in children.values():
                        kill_group(child, signal.SIGKILL)
                    continue
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if not line.strip():
                        continue
                    req = None
                    try:
                        req = json.loads(line)
                        if req["op"] == "spawn":
                            spawn(req)
                        elif req["op"] == "sweep":
                            keep = {c.proc.pid for c in children.values() if c.status is None}
                            emit({"id": req["id"], "ev": "swept", "count": sweep(int(req["uid"]), keep)})
                        elif req["op"] == "kill":
                            child = children.get(req["id"])
                            if child is not None and child.status is None:
                                kill_group(child, int(req.get("signal", signal.SIGTERM)))
                    except Exception as error:  # noqa: BLE001 - one bad request must not take the others down
                        rid = req.get("id") if isinstance(req, dict) else None
                        emit({"id": rid, "ev": "error", "message": f"{type(error).__name__} in the request"})
            elif kind == "out":
                child, num = data
                try:
                    chunk = os.read(key.fd, CHUNK)
                except BlockingIOError:
                    continue
                if chunk:
                    emit_out(child, num, chunk)
                else:
                    sel.unregister(key.fd)
                    child.open_fds -= 1
                    finish_if_done(child)
            elif kind == "info":
                known = data.init is not None
                if data.read_info():
                    drop_info(data)
                if not known and data.init is not None:
                    emit({"id": data.id, "ev": "sandbox", "pid": data.init_pid})
            elif kind == "in":
                child = data
                try:
                    written = os.write(key.fd, child.stdin_data[:CHUNK])
                    child.stdin_data = child.stdin_data[written:]
                except BlockingIOError:
                    continue
                except (BrokenPipeError, OSError):
                    child.stdin_data = b""
                if not child.stdin_data:
                    sel.unregister(key.fd)
                    child.proc.stdin.close()
        reap()
        for child in list(children.values()):
            finish_if_done(child)


if __name__ == "__main__":
    main()
