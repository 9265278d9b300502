-- Argus schema, SQLite dialect. Timestamps are ISO-8601 UTC text with milliseconds.
-- anomaly_stats and anomaly_transactions keep the finance tracker's column names.

CREATE TABLE anomaly_stats (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id      INTEGER NOT NULL,
  category_id  INTEGER NOT NULL,
  mean         REAL    NOT NULL,
  std_dev      REAL    NOT NULL CHECK (std_dev >= 0),
  sample_count INTEGER NOT NULL CHECK (sample_count >= 0),
  -- Welford's sum of squared deviations: std_dev = sqrt(m2 / (sample_count - 1)) once sample_count >= 2
  m2           REAL    NOT NULL DEFAULT 0 CHECK (m2 >= 0),
  created_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  UNIQUE (user_id, category_id)
);

CREATE TABLE batches (
  batch_id      TEXT    PRIMARY KEY,
  kind          TEXT    NOT NULL,
  source        TEXT    NOT NULL,
  status        TEXT    NOT NULL,
  rows_total    INTEGER NOT NULL DEFAULT 0,
  rows_ok       INTEGER NOT NULL DEFAULT 0,
  rows_rejected INTEGER NOT NULL DEFAULT 0,
  error         TEXT,
  created_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE anomaly_transactions (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id        INTEGER NOT NULL,
  category_id    INTEGER NOT NULL,
  amount         REAL    NOT NULL,
  z_score        REAL,
  is_anomaly     INTEGER NOT NULL CHECK (is_anomaly IN (0, 1)),
  created_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  transaction_id TEXT    NOT NULL UNIQUE,
  -- no foreign key to batches: a batch's row may be written by a later feature after its rows
  batch_id       TEXT,
  alert_status   TEXT    NOT NULL DEFAULT 'none'
                 CHECK (alert_status IN ('none', 'pending', 'queued', 'failed', 'sent', 'dead_lettered')),
  occurred_at    TEXT,
  detector       TEXT    NOT NULL DEFAULT 'zscore'
);
CREATE INDEX ix_anomaly_transactions_alert_status ON anomaly_transactions (alert_status, id);
CREATE INDEX ix_anomaly_transactions_batch ON anomaly_transactions (batch_id) WHERE batch_id IS NOT NULL;
CREATE INDEX ix_anomaly_transactions_user_category ON anomaly_transactions (user_id, category_id, id);

-- A scope is (user, category), (user, any category) or (any user, category). UNIQUE treats NULLs as
-- distinct, so each scope shape gets its own partial unique index.
CREATE TABLE anomaly_thresholds (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id     INTEGER,
  category_id INTEGER,
  z_threshold REAL    NOT NULL CHECK (z_threshold > 0),
  created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  CHECK (user_id IS NOT NULL OR category_id IS NOT NULL)
);
CREATE UNIQUE INDEX ux_anomaly_thresholds_user_category ON anomaly_thresholds (user_id, category_id)
  WHERE user_id IS NOT NULL AND category_id IS NOT NULL;
CREATE UNIQUE INDEX ux_anomaly_thresholds_user ON anomaly_thresholds (user_id)
  WHERE user_id IS NOT NULL AND category_id IS NULL;
CREATE UNIQUE INDEX ux_anomaly_thresholds_category ON anomaly_thresholds (category_id)
  WHERE user_id IS NULL AND category_id IS NOT NULL;

CREATE TABLE alert_deliveries (
  transaction_id      TEXT    PRIMARY KEY
                      REFERENCES anomaly_transactions (transaction_id) ON DELETE CASCADE,
  status              TEXT    NOT NULL CHECK (status IN ('sent', 'retrying', 'dead_lettered')),
  attempts            INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_error          TEXT,
  provider_message_id TEXT,
  updated_at          TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE models (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant       TEXT    NOT NULL,
  run_id       TEXT    NOT NULL,
  kind         TEXT    NOT NULL,
  params       TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(params)),
  state        TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(state)),
  trained_rows INTEGER NOT NULL DEFAULT 0,
  dims         INTEGER NOT NULL DEFAULT 0,
  trained_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  UNIQUE (tenant, run_id)
);
