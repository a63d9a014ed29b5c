import numpy as np
import pytest

from siam_keras.runtime.benchmarking import interleaved_rounds, paired_ratio


def test_every_call_runs_once_untimed_then_once_per_round_in_shuffled_order():
    log = []
    calls = {name: (lambda name=name: log.append(name)) for name in "abcd"}
    seconds = interleaved_rounds(calls, rounds=30, seed=1)
    assert log[:4] == list("abcd")  # the untimed first calls
    rounds = [log[4 + 4 * i : 8 + 4 * i] for i in range(30)]
    assert all(sorted(r) == list("abcd") for r in rounds)
    assert len({tuple(r) for r in rounds}) > 1  # the order changes between rounds
    assert {k: v.shape for k, v in seconds.items()} == {k: (30,) for k in "abcd"}
    assert all((v >= 0).all() for v in seconds.values())


def test_paired_ratio_is_the_median_of_each_rounds_ratio():
    drift = np.array([1.0, 3.0, 10.0, 1.5, 7.0])
    assert paired_ratio({"slow": 1.5 * drift, "fast": drift}, "slow", "fast") == pytest.approx(1.5)
    # Round 2 was slow for both calls: per round the ratios are 2, 0.9 and 1.5
    # (median 1.5), where separate medians would give 2 / 1 = 2.
    seconds = {"slow": np.array([2.0, 9.0, 1.5]), "fast": np.array([1.0, 10.0, 1.0])}
    assert paired_ratio(seconds, "slow", "fast") == pytest.approx(1.5)
