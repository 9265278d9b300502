"""Reference timings for test/bench/multivariate-a.bench.ts: PyOD COPOD and a numpy/scipy Mahalanobis
on the same data, one detector per process so that ru_maxrss is that detector's peak.

usage: python3 multivariate_a.py <float64 file> <train rows> <test rows> <cols> <copod|mahalanobis>
Prints one JSON line: fit_ms, score_ms, fit_cpu_ms, score_cpu_ms (process time), peak_rss_kb, baseline_rss_kb (after imports and data load).
"""

import numpy as np

from common import load_case, time_fit_and_score


def main():
    X_train, X_test, kind = load_case()

    if kind == "copod":
        from pyod.models.copod import COPOD

        COPOD().fit(X_train[:10000]).decision_function(X_test[:1000])  # numba-compiles the ECDF helper

        def fit():
            return COPOD(contamination=0.01).fit(X_train)

        def score(model):
            return model.decision_function(X_test)
    elif kind == "mahalanobis":
        from scipy.spatial.distance import cdist

        def fit_on(X):
            mean = X.mean(axis=0)
            VI = np.linalg.inv(np.cov(X, rowvar=False))
            train_scores = cdist(X, mean[None, :], "mahalanobis", VI=VI).ravel()
            return mean, VI, np.percentile(train_scores, 99)

        fit_on(X_train[:10000])

        def fit():
            return fit_on(X_train)

        def score(model):
            mean, VI, _ = model
            return cdist(X_test, mean[None, :], "mahalanobis", VI=VI).ravel()
    else:
        raise SystemExit(f"unknown kind {kind}")

    time_fit_and_score(fit, score)


if __name__ == "__main__":
    main()
