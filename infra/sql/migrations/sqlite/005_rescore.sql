-- Re-scoring: the baselines a run computed from a window of stored transactions, and every row's new
-- score with the run that produced it (the row's first score in anomaly_transactions never changes).

CREATE TABLE rescore_baselines (
  run_key      TEXT    NOT NULL,
  user_id      INTEGER NOT NULL,
  category_id  INTEGER NOT NULL,
  mean         REAL    NOT NULL,
  std_dev      REAL    NOT NULL,
  sample_count INTEGER NOT NULL,
  m2           REAL    NOT NULL,
  PRIMARY KEY (run_key, user_id, category_id)
);

CREATE TABLE transaction_rescores (
  transaction_id   TEXT    NOT NULL,
  run_key          TEXT    NOT NULL,
  z_score          REAL,
  is_anomaly       INTEGER NOT NULL CHECK (is_anomaly IN (0, 1)),
  -- anomalous now, not when first scored, and never alerted before: this run alerts it
  newly_anomalous  INTEGER NOT NULL CHECK (newly_anomalous IN (0, 1)),
  baseline_mean    REAL,
  baseline_std_dev REAL,
  baseline_count   INTEGER,
  created_at       TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (transaction_id, run_key)
);
CREATE INDEX ix_transaction_rescores_run ON transaction_rescores (run_key, newly_anomalous);
