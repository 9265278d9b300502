"""Reference timings for test/bench/multivariate-a.bench.ts: PyOD COPOD and a numpy/scipy Mahalanobis
on the same data, one detector per process so that ru_maxrss is that detector's peak.

usage: python3 multivariate_a.py <float64 file> <train rows> <test rows> <cols> <copod|mahalanobis>
Prints one JSON line: fit_ms, score_ms, fit_cpu_ms, score_cpu_ms (process time), peak_rss_kb, baseline_rss_kb (after imports and data load).
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


def main():
    path, n_train, n_test, cols, kind = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    data = np.fromfile(path, dtype="<f8").reshape(n_train + n_test, cols)
    X_train, X_test = data[:n_train], data[n_train:]

    if kind == "copod":
        from pyod.models.copod import COPOD

        COPOD().fit(X_train[:10000]).decision_function(X_test[:1000])  # numba-compiles the ECDF helper
        baseline = rss_kb()
        c0, t0 = time.process_time(), time.perf_counter()
        model = COPOD(contamination=0.01).fit(X_train)
        c1, t1 = time.process_time(), time.perf_counter()
        model.decision_function(X_test)
        c2, t2 = time.process_time(), time.perf_counter()
    elif kind == "mahalanobis":
        from scipy.spatial.distance import cdist

        def fit(X):
            mean = X.mean(axis=0)
            VI = np.linalg.inv(np.cov(X, rowvar=False))
            train_scores = cdist(X, mean[None, :], "mahalanobis", VI=VI).ravel()
            return mean, VI, np.percentile(train_scores, 99)

        fit(X_train[:10000])
        baseline = rss_kb()
        c0, t0 = time.process_time(), time.perf_counter()
        mean, VI, _ = fit(X_train)
        c1, t1 = time.process_time(), time.perf_counter()
        cdist(X_test, mean[None, :], "mahalanobis", VI=VI).ravel()
        c2, t2 = time.process_time(), time.perf_counter()
    else:
        raise SystemExit(f"unknown kind {kind}")

    print(json.dumps({
        "fit_ms": (t1 - t0) * 1000,
        "score_ms": (t2 - t1) * 1000,
        "fit_cpu_ms": (c1 - c0) * 1000,
        "score_cpu_ms": (c2 - c1) * 1000,
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "baseline_rss_kb": baseline,
    }))


if __name__ == "__main__":
    main()
