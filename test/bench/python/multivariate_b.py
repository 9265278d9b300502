"""Reference timings for test/bench/multivariate-b.bench.ts: scikit-learn IsolationForest, PyOD COF and
PyOD LOCI on the same data, one detector per process so that ru_maxrss is that detector's peak.

usage: python3 multivariate_b.py <float64 file> <train rows> <test rows> <cols> <iforest|cof|loci>
Reads the first <train rows> rows as training data and the next <test rows> as new data. "fit" includes
training-set scores (as PyOD's fit and our fit both compute them); "score" scores the new rows.
Prints one JSON line: fit_ms, score_ms, fit_cpu_ms, score_cpu_ms, peak_rss_kb, baseline_rss_kb.
"""

import json
import resource
import sys
import time

import numpy as np


def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    path, n_train, n_test, cols, kind = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    data = np.fromfile(path, dtype="<f8", count=(n_train + n_test) * cols).reshape(n_train + n_test, cols)
    X_train, X_test = data[:n_train], data[n_train:]

    if kind == "iforest":
        from sklearn.ensemble import IsolationForest

        def fit():
            model = IsolationForest(n_estimators=100, max_samples=256, random_state=0).fit(X_train)
            model.score_samples(X_train)  # training scores, as our fit computes them
            return model

        def score(model):
            return model.score_samples(X_test)
    elif kind == "cof":
        from pyod.models.cof import COF

        def fit():
            return COF(n_neighbors=20, method="fast").fit(X_train)

        def score(model):
            return model.decision_function(X_test)  # PyOD recomputes COF within the new batch
    elif kind == "loci":
        from pyod.models.loci import LOCI

        LOCI().fit(X_train[:30])  # numba-compiles the helpers outside the timing

        def fit():
            return LOCI(alpha=0.5, k=3).fit(X_train)

        def score(model):
            return model.decision_function(X_test)
    else:
        raise SystemExit(f"unknown kind {kind}")

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


if __name__ == "__main__":
    main()
