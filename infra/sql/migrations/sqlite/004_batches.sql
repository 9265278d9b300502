-- CSV batches: what 001's batches table lacked, the chunk ledger that makes each chunk exactly-once,
-- rejected rows, the baselines a batch touched (so a failed batch restores them), and stored series points.

ALTER TABLE batches ADD COLUMN file_kind TEXT NOT NULL DEFAULT 'transactions';
ALTER TABLE batches ADD COLUMN mode TEXT NOT NULL DEFAULT 'score';
ALTER TABLE batches ADD COLUMN content_sha256 TEXT;
ALTER TABLE batches ADD COLUMN file_name TEXT;
ALTER TABLE batches ADD COLUMN bytes_total INTEGER NOT NULL DEFAULT 0;
ALTER TABLE batches ADD COLUMN bytes_done INTEGER NOT NULL DEFAULT 0;
ALTER TABLE batches ADD COLUMN chunks_done INTEGER NOT NULL DEFAULT 0;
ALTER TABLE batches ADD COLUMN rows_scored INTEGER NOT NULL DEFAULT 0;
ALTER TABLE batches ADD COLUMN rows_duplicate INTEGER NOT NULL DEFAULT 0;
ALTER TABLE batches ADD COLUMN anomalies INTEGER NOT NULL DEFAULT 0;
-- The batch's summary (totals, first anomalies, aggregates) as JSON, once it has ended.
ALTER TABLE batches ADD COLUMN result TEXT CHECK (result IS NULL OR json_valid(result));
ALTER TABLE batches ADD COLUMN options TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(options));
ALTER TABLE batches ADD COLUMN finished_at TEXT;
CREATE INDEX ix_batches_created ON batches (created_at, batch_id);

-- One row per committed chunk, written in the chunk's own transaction: a retried chunk finds it and
-- writes nothing again.
CREATE TABLE batch_chunks (
  batch_id      TEXT    NOT NULL,
  chunk_no      INTEGER NOT NULL CHECK (chunk_no >= 0),
  start_offset  INTEGER NOT NULL,
  end_offset    INTEGER NOT NULL,
  end_line      INTEGER NOT NULL,
  rows_read     INTEGER NOT NULL,
  rows_ok       INTEGER NOT NULL,
  rows_scored   INTEGER NOT NULL,
  rows_rejected INTEGER NOT NULL,
  rows_duplicate INTEGER NOT NULL,
  anomalies     INTEGER NOT NULL,
  created_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (batch_id, chunk_no)
);

CREATE TABLE batch_rejects (
  batch_id TEXT    NOT NULL,
  line     INTEGER NOT NULL CHECK (line >= 1),
  field    TEXT    NOT NULL,
  reason   TEXT    NOT NULL,
  raw      TEXT,
  PRIMARY KEY (batch_id, line)
);

-- A baseline as it was before the batch first changed it (existed = 0: there was none), so a batch
-- that fails for good can put every baseline it touched back.
CREATE TABLE batch_baseline_backups (
  batch_id     TEXT    NOT NULL,
  user_id      INTEGER NOT NULL,
  category_id  INTEGER NOT NULL,
  existed      INTEGER NOT NULL CHECK (existed IN (0, 1)),
  mean         REAL,
  std_dev      REAL,
  sample_count INTEGER,
  m2           REAL,
  PRIMARY KEY (batch_id, user_id, category_id)
);

-- A time series ingested from a file: each point with the detector's verdict.
CREATE TABLE series_points (
  series_id    TEXT    NOT NULL,
  ts           TEXT    NOT NULL,
  value        REAL    NOT NULL,
  expected     REAL    NOT NULL,
  upper_margin REAL    NOT NULL,
  lower_margin REAL    NOT NULL,
  is_anomaly   INTEGER NOT NULL CHECK (is_anomaly IN (0, 1)),
  is_positive  INTEGER NOT NULL CHECK (is_positive IN (0, 1)),
  is_negative  INTEGER NOT NULL CHECK (is_negative IN (0, 1)),
  severity     REAL    NOT NULL,
  period       INTEGER NOT NULL,
  batch_id     TEXT    NOT NULL,
  line         INTEGER NOT NULL,
  PRIMARY KEY (series_id, ts)
);
CREATE INDEX ix_series_points_batch ON series_points (batch_id, ts);
-- Only rows with an alert to track are listed by alert status: normal rows ('none', nearly all of a
-- large batch) stay out of the index, which saves one index write per stored row.
DROP INDEX ix_anomaly_transactions_alert_status;
CREATE INDEX ix_anomaly_transactions_alert_status ON anomaly_transactions (alert_status, id) WHERE alert_status <> 'none';
-- Nothing reads by (user, category, id), and its random-order inserts cost a batch more than all other
-- indexes together (measured: 10.7 s per million rows with it, 4.0 s without). A reader that needs
-- such an order (a dashboard, a re-score window) adds the index its query needs.
DROP INDEX ix_anomaly_transactions_user_category;
-- The first anomalies of a batch, in file order, without scanning its normal rows.
CREATE INDEX ix_anomaly_transactions_batch_anomalies ON anomaly_transactions (batch_id, id) WHERE is_anomaly = 1;
