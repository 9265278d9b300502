"""What the reference scripts share: their arguments, the data file, the timed fit + score and the JSON
line the TypeScript benchmarks read (test/bench/harness.ts). One case per process, so that ru_maxrss is
that case's peak.
"""

import json
import resource
import sys
import time

import numpy as np


def rss_kb():
    # Current RSS from /proc (ru_maxrss only gives the peak).
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def load_case():
    """argv: <float64 file> <train rows> <test rows> <cols> <kind>. Returns (X_train, X_test, kind): the
    first <train rows> rows of the file, the <test rows> after them, and the detector to run."""
    path, n_train, n_test, cols, kind = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    data = np.fromfile(path, dtype="<f8", count=(n_train + n_test) * cols).reshape(n_train + n_test, cols)
    return data[:n_train], data[n_train:], kind


def time_fit_and_score(fit, score):
    """Call after any warm-up. Times fit() and score(model) by wall and process time and prints one JSON
    line: fit_ms, score_ms, fit_cpu_ms, score_cpu_ms, peak_rss_kb, baseline_rss_kb (RSS before fit)."""
    baseline = rss_kb()
    c0, t0 = time.process_time(), time.perf_counter()
    model = fit()
    c1, t1 = time.process_time(), time.perf_counter()
    score(model)
    c2, t2 = time.process_time(), time.perf_counter()
    print(json.dumps({
        "fit_ms": (t1 - t0) * 1000,
        "score_ms": (t2 - t1) * 1000,
        "fit_cpu_ms": (c1 - c0) * 1000,
        "score_cpu_ms": (c2 - c1) * 1000,
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "baseline_rss_kb": baseline,
    }))
