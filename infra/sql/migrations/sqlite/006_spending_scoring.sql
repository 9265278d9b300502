-- Scoring real spending: the baselines the log-amount and robust (median / MAD) methods need, per
-- (user, category) and per category over all users (cold start), and the per-user / per-category
-- choice of method. Every baseline is folded in the same database transaction as anomaly_stats.

-- The log summary (Welford over ln(amount) of the positive amounts) and the window of the last K
-- non-anomalous amounts (comma-separated as JavaScript prints them, oldest first).
ALTER TABLE anomaly_stats ADD COLUMN log_count INTEGER NOT NULL DEFAULT 0 CHECK (log_count >= 0);
ALTER TABLE anomaly_stats ADD COLUMN log_mean REAL NOT NULL DEFAULT 0;
ALTER TABLE anomaly_stats ADD COLUMN log_m2 REAL NOT NULL DEFAULT 0 CHECK (log_m2 >= 0);
ALTER TABLE anomaly_stats ADD COLUMN recent_amounts TEXT NOT NULL DEFAULT '';
ALTER TABLE anomaly_stats ADD COLUMN recent_count INTEGER NOT NULL DEFAULT 0 CHECK (recent_count >= 0);

-- The same baselines for a whole category (every user): what cold start scores a new pair against.
CREATE TABLE anomaly_category_stats (
  category_id    INTEGER PRIMARY KEY,
  mean           REAL    NOT NULL,
  std_dev        REAL    NOT NULL CHECK (std_dev >= 0),
  sample_count   INTEGER NOT NULL CHECK (sample_count >= 0),
  m2             REAL    NOT NULL DEFAULT 0 CHECK (m2 >= 0),
  log_count      INTEGER NOT NULL DEFAULT 0 CHECK (log_count >= 0),
  log_mean       REAL    NOT NULL DEFAULT 0,
  log_m2         REAL    NOT NULL DEFAULT 0 CHECK (log_m2 >= 0),
  recent_amounts TEXT    NOT NULL DEFAULT '',
  recent_count   INTEGER NOT NULL DEFAULT 0 CHECK (recent_count >= 0),
  updated_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- A batch that fails for good puts these back too.
ALTER TABLE batch_baseline_backups ADD COLUMN log_count INTEGER;
ALTER TABLE batch_baseline_backups ADD COLUMN log_mean REAL;
ALTER TABLE batch_baseline_backups ADD COLUMN log_m2 REAL;
ALTER TABLE batch_baseline_backups ADD COLUMN recent_amounts TEXT;
ALTER TABLE batch_baseline_backups ADD COLUMN recent_count INTEGER;

CREATE TABLE batch_category_backups (
  batch_id       TEXT    NOT NULL,
  category_id    INTEGER NOT NULL,
  existed        INTEGER NOT NULL CHECK (existed IN (0, 1)),
  mean           REAL,
  std_dev        REAL,
  sample_count   INTEGER,
  m2             REAL,
  log_count      INTEGER,
  log_mean       REAL,
  log_m2         REAL,
  recent_amounts TEXT,
  recent_count   INTEGER,
  PRIMARY KEY (batch_id, category_id)
);

-- Which method scores a user, a category or one (user, category), and whether cold start is on; NULL in
-- a column: the wider scope (or the deployment's setting) decides it. Scopes as in anomaly_thresholds.
CREATE TABLE anomaly_scoring_settings (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id     INTEGER,
  category_id INTEGER,
  method      TEXT    CHECK (method IS NULL OR method IN ('zscore', 'log-z', 'robust-z')),
  cold_start  INTEGER CHECK (cold_start IS NULL OR cold_start IN (0, 1)),
  created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  CHECK (user_id IS NOT NULL OR category_id IS NOT NULL),
  CHECK (method IS NOT NULL OR cold_start IS NOT NULL)
);
CREATE UNIQUE INDEX ux_anomaly_scoring_settings_user_category ON anomaly_scoring_settings (user_id, category_id)
  WHERE user_id IS NOT NULL AND category_id IS NOT NULL;
CREATE UNIQUE INDEX ux_anomaly_scoring_settings_user ON anomaly_scoring_settings (user_id)
  WHERE user_id IS NOT NULL AND category_id IS NULL;
CREATE UNIQUE INDEX ux_anomaly_scoring_settings_category ON anomaly_scoring_settings (category_id)
  WHERE user_id IS NULL AND category_id IS NOT NULL;
