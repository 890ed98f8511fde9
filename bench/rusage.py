"""Runs one command and prints its wall time and CPU time as one JSON line, for the startup bench.

    python3 bench/rusage.py [--timeout SECONDS] -- command args...

Node cannot read a child's resource usage; wait4() gives the child's own user and system time with
microsecond resolution (GNU time prints 10 ms). The wall time is taken around spawn and wait4 here,
so this helper's own start-up is not counted. The child's stdout and stderr go to /dev/null; a child
that outlives the timeout (default 60 s) is killed and reported with its signal.
"""
import json
import os
import signal
import sys
import time


def main() -> int:
    args = sys.argv[1:]
    timeout = 60.0
    if args[:1] == ["--timeout"]:
        timeout = float(args[1])
        args = args[2:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        print("usage: rusage.py [--timeout SECONDS] -- command args...", file=sys.stderr)
        return 2
    devnull = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_WRONLY, 0) for fd in (1, 2)]
    started = time.perf_counter()
    pid = os.posix_spawnp(args[0], args, os.environ, file_actions=devnull)
    # A blocking wait (no polling beside the measured child); the timer kills a child that hangs.
    signal.signal(signal.SIGALRM, lambda _signum, _frame: os.kill(pid, signal.SIGKILL))
    signal.setitimer(signal.ITIMER_REAL, timeout)
    _, status, usage = os.wait4(pid, 0)
    signal.setitimer(signal.ITIMER_REAL, 0)
    wall = time.perf_counter() - started
    print(json.dumps({
        "wall_ms": wall * 1000,
        "user_ms": usage.ru_utime * 1000,
        "sys_ms": usage.ru_stime * 1000,
        "max_rss_kib": usage.ru_maxrss,
        "code": os.waitstatus_to_exitcode(status),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
