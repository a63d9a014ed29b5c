"""Timing calls side by side: interleaved rounds in a random order, paired ratios.

On two shared cores a call can slow the one after it (BLAS or LiteRT threads still
spinning) and the machine's speed drifts, so separate medians move by several
percent from run to run. Every round runs each call once, in a fresh random order,
and a ratio is the median of the rounds' own ratios, so drift cancels.
"""

import time

import numpy as np


def interleaved_rounds(calls, rounds, seed=0):
    """{name: (rounds,) seconds} of each call; each runs once untimed first (tracing)."""
    for call in calls.values():
        call()
    seconds = {name: [] for name in calls}
    order = np.random.default_rng(seed)
    for _ in range(rounds):
        for name in order.permutation(list(calls)):
            start = time.perf_counter()
            calls[name]()
            seconds[name].append(time.perf_counter() - start)
    return {name: np.asarray(values) for name, values in seconds.items()}


def paired_ratio(seconds, numerator, denominator):
    """The median over rounds of numerator / denominator, round by round."""
    return float(np.median(seconds[numerator] / seconds[denominator]))
