"""`siam-train --local-processes N`: a multi_host job of N processes on this machine."""

import os
import signal
import socket
import subprocess
import sys
import time


def free_port():
    """A TCP port nothing listens on now, for the job's coordinator (process 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def launch(count, argv):
    """Starts `count` processes of `siam-train argv` joined as one job on 127.0.0.1 and
    waits for them; returns the first non-zero exit status (0 when all succeed).

    Process 0 prints as usual; the others print only their errors. When one process
    fails, the others are stopped: a job cannot go on without one of its processes.
    On a machine with GPUs each process sees one (`CUDA_VISIBLE_DEVICES`, unless set).
    """
    if count < 1:
        print(f"error: --local-processes must be at least 1. Received: --local-processes {count}",
              file=sys.stderr)
        return 2
    coordinator = f"127.0.0.1:{free_port()}"
    processes = []
    for index in range(count):
        environment = dict(os.environ)
        environment.setdefault("CUDA_VISIBLE_DEVICES", str(index))
        command = [sys.executable, "-m", "training", *argv, "--coordinator", coordinator,
                   "--num-processes", str(count), "--process-id", str(index)]
        processes.append(subprocess.Popen(
            command, env=environment, stdout=None if index == 0 else subprocess.DEVNULL))
    return _wait(processes)


def _wait(processes):
    status = 0
    stopped = lambda number, frame: (_stop(processes), sys.exit(128 + number))  # noqa: E731
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, stopped)
    try:
        while None in [p.poll() for p in processes]:  # every one polled (no short cut)
            failed = [p.returncode for p in processes if p.returncode not in (None, 0)]
            if failed:
                status = failed[0]
                _stop(processes)
                break
            time.sleep(0.2)
    except KeyboardInterrupt:
        _stop(processes)
        raise
    codes = [p.wait() for p in processes]
    status = status or next((code for code in codes if code), 0)
    return 128 - status if status < 0 else status  # killed by signal N: the shell's 128 + N


def _stop(processes):
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    # A process that lost a peer waits in JAX's shutdown barrier (100 s heartbeat) on
    # its way out: 10 s to leave (its scratch folder removed first), then it is killed.
    deadline = time.monotonic() + 10
    for process in processes:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
