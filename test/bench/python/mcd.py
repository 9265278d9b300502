"""Reference for test/bench/mcd.bench.ts: scikit-learn's MinCovDet on the same rows, and ROC-AUCs.

usage:
  python3 mcd.py export <dataset.npz> <rows.f64> <labels.f64>
      ADBench/ODDS .npz (X, y) to little-endian float64 files; prints {"rows", "cols"}.
  python3 mcd.py <rows.f64> <rows> <cols> [<labels.f64>]
      Times MinCovDet(random_state=0).fit(X) (its fit computes the training distances dist_) and
      mahalanobis(X), and prints one JSON line: fit_ms, score_ms, fit_cpu_ms, score_cpu_ms, peak_rss_kb,
      baseline_rss_kb, raw_logdet; with labels also mcd_auc (ROC-AUC of dist_, which is what PyOD's MCD
      takes as decision_scores_) and sample_auc (squared Mahalanobis distance under np.cov).
"""

import json
import resource
import sys
import time

import numpy as np

from common import rss_kb


def export(npz, rows_path, labels_path):
    data = np.load(npz, allow_pickle=False)
    X = np.ascontiguousarray(data["X"], dtype="<f8")
    X.tofile(rows_path)
    np.asarray(data["y"], dtype="<f8").tofile(labels_path)
    print(json.dumps({"rows": int(X.shape[0]), "cols": int(X.shape[1])}))


def main():
    if sys.argv[1] == "export":
        export(*sys.argv[2:5])
        return
    from sklearn.covariance import MinCovDet

    path, rows, cols = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    X = np.fromfile(path, dtype="<f8", count=rows * cols).reshape(rows, cols)
    MinCovDet(random_state=0).fit(X[: min(rows, 200)])  # imports and first-call costs outside the timing
    baseline = rss_kb()
    c0, t0 = time.process_time(), time.perf_counter()
    model = MinCovDet(random_state=0).fit(X)
    c1, t1 = time.process_time(), time.perf_counter()
    model.mahalanobis(X)
    c2, t2 = time.process_time(), time.perf_counter()
    result = {
        "fit_ms": (t1 - t0) * 1000,
        "score_ms": (t2 - t1) * 1000,
        "fit_cpu_ms": (c1 - c0) * 1000,
        "score_cpu_ms": (c2 - c1) * 1000,
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "baseline_rss_kb": baseline,
        "raw_logdet": float(np.linalg.slogdet(model.raw_covariance_)[1]),
    }
    if len(sys.argv) > 4:
        from sklearn.metrics import roc_auc_score

        y = np.fromfile(sys.argv[4], dtype="<f8", count=rows)
        centred = X - X.mean(axis=0)
        sample = np.sum(centred @ np.linalg.pinv(np.cov(X, rowvar=False)) * centred, axis=1)
        result["mcd_auc"] = float(roc_auc_score(y, model.dist_))
        result["sample_auc"] = float(roc_auc_score(y, sample))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
