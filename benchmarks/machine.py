"""`cpu_description`: the CPU a benchmark ran on, printed above its table.

Timings compare only within one run: machines differ from session to session (int8
kernels, for one, run 6x faster with AVX-512 VNNI than on an AVX2-only CPU).
"""

import os
import platform

FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_tile")


def cpu_description():
    """'CPU: <model>, <n> cores; avx2 yes, avx512f no, ...' (Linux; the platform elsewhere)."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as file:
            for line in file:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    found = ", ".join(f"{flag} {'yes' if flag in flags else 'no'}" for flag in FLAGS)
    return f"CPU: {model}, {cores} cores; {found}"
