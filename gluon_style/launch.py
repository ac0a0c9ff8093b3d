"""``python -m gluon_style.launch -n 2 -s 1 -- train ...``: a parameter-server run on this host.

Starts MXNet's ps-lite roles as local processes: one scheduler, ``-s`` servers and
``-n`` workers, all on the loopback interface (``DMLC_INTERFACE=lo``,
``DMLC_PS_ROOT_URI=127.0.0.1``, a free port). A scheduler or server is
``python -c "import mxnet"`` with ``DMLC_ROLE`` set: MXNet 1.9 enters the
parameter-server loop while it is imported and exits when the workers finalize.
Each worker runs the command after ``--`` (a ``gluon_style`` command such as
``train``, or any program) with ``OMP_NUM_THREADS`` set to its share of the cores.

It waits for the workers. A worker that exits non-zero, a scheduler or server that
dies first, or a run longer than ``--timeout`` stops every other process and the
launcher exits non-zero with one line saying which. On several hosts use ssh or a
cluster launcher instead with the same ``DMLC_*`` variables (see the README).

MXNet's wheel ships ``mxnet/tools/launch.py`` but not the ``dmlc_tracker``
package it imports, hence this small one.
"""
import argparse
import os
import signal
import socket
import subprocess
import sys
import time

from .runtime import child_environ, default_threads, omp_wait_defaults

#: exit status for a run stopped by --timeout (as timeout(1))
TIMEOUT_STATUS = 124
#: seconds the scheduler and servers get to exit after the last worker did
SHUTDOWN_GRACE = 15.0


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker_command(argv):
    """A gluon_style command (``train ...``) runs in this Python; anything else as given."""
    from .cli import COMMANDS
    if argv and argv[0] in COMMANDS:
        return [sys.executable, "-m", "gluon_style"] + list(argv)
    return list(argv)


def dmlc_env(role, *, workers, servers, port, uri="127.0.0.1", interface="lo", base=None):
    """The environment of one ps-lite process (`role`: scheduler, server or worker)."""
    env = child_environ(base)  # without an AMX setting this process has not settled
    env.update(DMLC_ROLE=role, DMLC_PS_ROOT_URI=uri, DMLC_PS_ROOT_PORT=str(port),
               DMLC_NUM_WORKER=str(workers), DMLC_NUM_SERVER=str(servers),
               DMLC_INTERFACE=interface)
    return env


class Launch:
    """The processes of one run; :meth:`wait` returns ``(status, message)``."""

    def __init__(self, command, *, workers, servers, timeout=None, threads=None, port=None):
        self.command, self.workers, self.servers = list(command), int(workers), int(servers)
        self.timeout = timeout
        self.port = port or free_port()
        self.threads = threads or max(1, default_threads() // self.workers)
        self.procs = []  # (name, Popen)

    def _start(self, name, role, argv, threads):
        env = dmlc_env(role, workers=self.workers, servers=self.servers, port=self.port)
        env["OMP_NUM_THREADS"] = str(threads)
        env.update(omp_wait_defaults(env))
        # its own process group: stopping it stops what it started too
        p = subprocess.Popen(argv, env=env, start_new_session=True)
        self.procs.append((name, p))
        return p

    def start(self):
        serve = [sys.executable, "-c", "import mxnet"]
        self._start("scheduler", "scheduler", serve, 1)
        for i in range(self.servers):
            self._start("server %d" % i, "server", serve, 1)
        # ps-lite assigns ranks in the order workers register: "worker i/n" is
        # the launch order, not kv.rank
        self.worker_procs = [self._start("worker %d/%d" % (i + 1, self.workers), "worker",
                                         self.command, self.threads)
                             for i in range(self.workers)]
        return self

    def stop(self, grace=5.0):
        """SIGTERM to every process (group) still running, SIGKILL after `grace` s."""
        live = [p for _, p in self.procs if p.poll() is None]
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for p in live:
                try:
                    os.killpg(p.pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and any(p.poll() is None for p in live):
                time.sleep(0.05)
            live = [p for p in live if p.poll() is None]
            if not live:
                break
        for _, p in self.procs:
            try:
                p.wait(timeout=grace)
            except subprocess.TimeoutExpired:  # pragma: no cover - unkillable
                pass

    def wait(self, poll=0.1):
        t0 = time.monotonic()
        workers = [(n, p) for n, p in self.procs if p in self.worker_procs]
        others = [(n, p) for n, p in self.procs if p not in self.worker_procs]
        ended = {}
        try:
            while True:
                for name, p in workers:
                    if p.poll() not in (None, 0):
                        self.stop()
                        return p.returncode if p.returncode > 0 else 1, (
                            "%s (pid %d) exited with status %d; stopped the other processes"
                            % (name, p.pid, p.returncode))
                if all(p.poll() == 0 for _, p in workers):
                    break
                for name, p in others:
                    # ps-lite's roles exit 0 when the workers finalize, maybe before the
                    # last worker is reaped here: status 0 gets SHUTDOWN_GRACE s
                    if p.poll() is not None and (p.returncode != 0 or ended.setdefault(
                            name, time.monotonic()) < time.monotonic() - SHUTDOWN_GRACE):
                        self.stop()
                        return 1, ("%s (pid %d) exited with status %d while the workers ran; "
                                   "stopped the other processes" % (name, p.pid, p.returncode))
                if self.timeout is not None and time.monotonic() - t0 > self.timeout:
                    running = [n for n, p in workers if p.poll() is None]
                    self.stop()
                    return TIMEOUT_STATUS, ("timed out after %g s (%s still running); stopped "
                                            "every process" % (self.timeout, ", ".join(running)))
                time.sleep(poll)
            # the workers are done: the scheduler and servers finish on their own
            deadline = time.monotonic() + SHUTDOWN_GRACE
            while time.monotonic() < deadline and any(p.poll() is None for _, p in others):
                time.sleep(poll)
            late = [n for n, p in others if p.poll() is None]
            self.stop()
            return 0, ("%d worker(s) finished in %.1f s%s" % (
                self.workers, time.monotonic() - t0,
                "; stopped %s, still up after the workers" % ", ".join(late) if late else ""))
        except BaseException:
            self.stop()
            raise


def launch_parser():
    p = argparse.ArgumentParser(
        prog="python -m gluon_style.launch",
        description="Run a command as the workers of an MXNet parameter-server job on this "
                    "host: a scheduler, -s servers and -n workers on the loopback interface.",
        usage="%(prog)s -n N [-s S] [--timeout SECONDS] -- COMMAND ...")
    p.add_argument("-n", "--num-workers", type=int, required=True, help="worker processes")
    p.add_argument("-s", "--num-servers", type=int, default=1,
                   help="server processes (default %(default)s)")
    p.add_argument("--timeout", type=float, default=None,
                   help="stop everything and fail after this many seconds (default: none)")
    p.add_argument("--threads", type=int, default=None,
                   help="OMP_NUM_THREADS of each worker (default: the cores / -n)")
    p.add_argument("--port", type=int, default=None, help="scheduler port (default: a free one)")
    p.add_argument("command", nargs=argparse.REMAINDER,
                   help="after --: a gluon_style command (train ...) or any program")
    return p


def main(argv=None):
    p = launch_parser()
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        p.error("no command: put it after --, e.g. -- train --kvstore dist_sync ...")
    if args.num_workers < 1 or args.num_servers < 1:
        p.error("-n and -s must be at least 1")
    run = Launch(worker_command(command), workers=args.num_workers, servers=args.num_servers,
                 timeout=args.timeout, threads=args.threads, port=args.port)
    try:
        status, message = run.start().wait()
    except KeyboardInterrupt:
        print("launch: interrupted; stopped every process", file=sys.stderr)
        return 130
    print("launch: " + message, file=sys.stderr if status else sys.stdout)
    return status


if __name__ == "__main__":
    sys.exit(main())
