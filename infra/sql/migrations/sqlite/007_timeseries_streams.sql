-- Streaming time-series detection: one row per series, its detector state (a little-endian float64
-- array, detection/timeseries/streaming.ts) and a version for compare-and-swap writes.

CREATE TABLE timeseries_streams (
  series_id      TEXT    NOT NULL PRIMARY KEY,
  state          BLOB    NOT NULL,
  version        INTEGER NOT NULL CHECK (version >= 1),
  points_seen    INTEGER NOT NULL CHECK (points_seen >= 0),
  -- epoch milliseconds of the newest accepted point; NULL when the series is fed without timestamps
  last_timestamp REAL,
  created_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
