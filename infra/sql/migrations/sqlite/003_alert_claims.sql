-- Lease-based claims on alert deliveries, so dispatcher replicas holding copies of one alert message
-- send at most one email: claimed_by holds the lease until claimed_until (ISO-8601 UTC text, written
-- from SQLite's own clock). A claim made before any attempt leaves the row 'pending'.
--
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt. Nothing references
-- alert_deliveries, so dropping it under foreign_keys = ON touches no other table.

CREATE TABLE alert_deliveries_v3 (
  transaction_id      TEXT    PRIMARY KEY
                      REFERENCES anomaly_transactions (transaction_id) ON DELETE CASCADE,
  status              TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'retrying', 'dead_lettered')),
  attempts            INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_error          TEXT,
  provider_message_id TEXT,
  updated_at          TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  claimed_by          TEXT,
  claimed_until       TEXT,
  CHECK ((claimed_by IS NULL) = (claimed_until IS NULL))
);

INSERT INTO alert_deliveries_v3 (transaction_id, status, attempts, last_error, provider_message_id, updated_at)
SELECT transaction_id, status, attempts, last_error, provider_message_id, updated_at FROM alert_deliveries;

DROP TABLE alert_deliveries;
ALTER TABLE alert_deliveries_v3 RENAME TO alert_deliveries;
