"""Reference timings for test/bench/multivariate-b.bench.ts: scikit-learn IsolationForest, PyOD COF and
PyOD LOCI on the same data, one detector per process so that ru_maxrss is that detector's peak.

usage: python3 multivariate_b.py <float64 file> <train rows> <test rows> <cols> <iforest|cof|loci>
Reads the first <train rows> rows as training data and the next <test rows> as new data. "fit" includes
training-set scores (as PyOD's fit and our fit both compute them); "score" scores the new rows.
Prints one JSON line: fit_ms, score_ms, fit_cpu_ms, score_cpu_ms, peak_rss_kb, baseline_rss_kb.
"""

from common import load_case, time_fit_and_score


def main():
    X_train, X_test, kind = load_case()

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

    time_fit_and_score(fit, score)


if __name__ == "__main__":
    main()
