r"""A tiny stand-in for systemd's ``Restart=always`` + ``KillMode=control-group`` (this machine has
no systemd): run a command in its own process group, and whenever its main process exits, kill
whatever is left of the group, then start it again.

    python benchmarks/supervise.py --pidfile /tmp/master.pid -- \
        gunicorn -c docs/deploy/gunicorn.conf.py

The main process id is written to ``--pidfile`` at every start, and each restart is printed
with its time. SIGTERM or SIGINT stop the supervisor and the whole group. Used by
``benchmarks/load_and_faults.py``; not a production supervisor.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time

stopping = False


def _stop(signum, _frame) -> None:
    global stopping
    stopping = True


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def say(message: str) -> None:
    print(
        f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] supervise: {message}", file=sys.stderr, flush=True
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pidfile", required=True)
    parser.add_argument("--restart-delay", type=float, default=0.5)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to supervise after --")
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    starts = 0
    while not stopping:
        process = subprocess.Popen(command, start_new_session=True)
        starts += 1
        with open(args.pidfile, "w") as pidfile:
            pidfile.write(f"{process.pid}\n")
        say(f"start {starts}, pid {process.pid}")
        while not stopping and process.poll() is None:
            time.sleep(0.1)
        if stopping:
            process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=20)
        # KillMode=control-group: nothing of the old instance survives it.
        kill_group(process.pid)
        process.wait()
        if not stopping:
            say(f"pid {process.pid} exited ({process.returncode}); group killed; restarting")
            time.sleep(args.restart_delay)
    return 0


if __name__ == "__main__":
    sys.exit(main())
