-- Model lifecycle: what fit / update / detect need beyond 001's models table.
-- SQLite cannot ADD COLUMN with a non-constant default, so created_at is filled by the store's INSERT.

ALTER TABLE models ADD COLUMN threshold REAL;
ALTER TABLE models ADD COLUMN version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1);
-- Raw training rows of detector kinds (JSON array of rows), kept up to a cap so update can refit; NULL otherwise.
ALTER TABLE models ADD COLUMN training_data TEXT CHECK (training_data IS NULL OR json_valid(training_data));
-- The latest write ids (JSON array), so a retried fit or update is not applied twice.
ALTER TABLE models ADD COLUMN recent_operations TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(recent_operations));
ALTER TABLE models ADD COLUMN created_at TEXT;

-- Tracked detections, one row per scored data row. result_id is '<detection id>:<row>', so a retried
-- detection inserts nothing twice; seq orders them and keys the pages.
CREATE TABLE model_results (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant        TEXT    NOT NULL,
  run_id        TEXT    NOT NULL,
  result_id     TEXT    NOT NULL,
  detection_id  TEXT    NOT NULL,
  row_index     INTEGER NOT NULL CHECK (row_index >= 0),
  input         TEXT    NOT NULL CHECK (json_valid(input)),
  scores        TEXT    NOT NULL CHECK (json_valid(scores)),
  is_anomaly    INTEGER NOT NULL CHECK (is_anomaly IN (0, 1)),
  model_version INTEGER NOT NULL,
  created_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  UNIQUE (tenant, run_id, result_id),
  FOREIGN KEY (tenant, run_id) REFERENCES models (tenant, run_id) ON DELETE CASCADE
);
CREATE INDEX ix_model_results_model ON model_results (tenant, run_id, seq);
