-- The dashboard's reads (issue 11): every page answers from an index range, never a table scan.

-- Anomalies, newest stored first, by each filter the page offers. Partial: only anomalous rows (about 1 %
-- of a store) are in them, so a batch's normal rows cost no extra index write.
CREATE INDEX ix_anomaly_transactions_anomalies_recent ON anomaly_transactions (created_at, id) WHERE is_anomaly = 1;
CREATE INDEX ix_anomaly_transactions_anomalies_user ON anomaly_transactions (user_id, created_at, id) WHERE is_anomaly = 1;
CREATE INDEX ix_anomaly_transactions_anomalies_category ON anomaly_transactions (category_id, created_at, id) WHERE is_anomaly = 1;
CREATE INDEX ix_anomaly_transactions_anomalies_batch ON anomaly_transactions (batch_id, created_at, id) WHERE is_anomaly = 1;
CREATE INDEX ix_anomaly_transactions_anomalies_alert ON anomaly_transactions (alert_status, created_at, id) WHERE is_anomaly = 1;

-- One (user, category) over time, and the rows stored after an anomaly (its baseline is unfolded from
-- them: amount and verdict are in the index, so that needs no table reads). Every row is in it: this is
-- the write cost the dashboard adds to a batch (see the README).
CREATE INDEX ix_anomaly_transactions_pair ON anomaly_transactions (user_id, category_id, id, amount, is_anomaly);

-- The alert page counts deliveries being retried.
CREATE INDEX ix_alert_deliveries_status ON alert_deliveries (status) WHERE status <> 'sent';

-- Risk by category and by user over a window: sums per dyadic block of days, so any window of whole
-- days reads at most two blocks per level (about 18) per category or user instead of every day or
-- every transaction. A row's day is its time (occurred_at, else created_at) in UTC, as re-scoring
-- windows count it, numbered from 1970-01-01 plus 1,000,000 (positive for every date a row can have);
-- the block of level L holds days [b * 2^L, (b + 1) * 2^L).
CREATE TABLE dashboard_risk_levels (level INTEGER PRIMARY KEY);
INSERT INTO dashboard_risk_levels (level) VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9);

CREATE TABLE dashboard_risk_category (
  level            INTEGER NOT NULL,
  bucket           INTEGER NOT NULL,
  category_id      INTEGER NOT NULL,
  transactions     INTEGER NOT NULL,
  anomalies        INTEGER NOT NULL,
  amount           REAL    NOT NULL,
  anomalous_amount REAL    NOT NULL,
  PRIMARY KEY (level, bucket, category_id)
) WITHOUT ROWID;

CREATE TABLE dashboard_risk_user (
  level            INTEGER NOT NULL,
  bucket           INTEGER NOT NULL,
  user_id          INTEGER NOT NULL,
  transactions     INTEGER NOT NULL,
  anomalies        INTEGER NOT NULL,
  amount           REAL    NOT NULL,
  anomalous_amount REAL    NOT NULL,
  PRIMARY KEY (level, bucket, user_id)
) WITHOUT ROWID;

-- The sums include every row with id <= rolled_up_to. Stored rows are folded in by the dashboard store
-- when it reads (set-based, newest ids only), not by a trigger per insert: a batch's insert costs nothing
-- more. SQLite has one writer at a time and never reuses an id, so no row can appear below the mark.
CREATE TABLE dashboard_risk_state (
  id            INTEGER PRIMARY KEY CHECK (id = 1),
  rolled_up_to  INTEGER NOT NULL
);

-- Backfill from every stored row: days first, then each level from the one below (half as many blocks).
INSERT INTO dashboard_risk_category (level, bucket, category_id, transactions, anomalies, amount, anomalous_amount)
SELECT 0, CAST(unixepoch(substr(COALESCE(occurred_at, created_at), 1, 10)) / 86400 AS INTEGER) + 1000000, category_id,
       COUNT(*), SUM(is_anomaly), SUM(amount), SUM(CASE WHEN is_anomaly = 1 THEN amount ELSE 0 END)
FROM anomaly_transactions
GROUP BY 2, 3;
INSERT INTO dashboard_risk_user (level, bucket, user_id, transactions, anomalies, amount, anomalous_amount)
SELECT 0, CAST(unixepoch(substr(COALESCE(occurred_at, created_at), 1, 10)) / 86400 AS INTEGER) + 1000000, user_id,
       COUNT(*), SUM(is_anomaly), SUM(amount), SUM(CASE WHEN is_anomaly = 1 THEN amount ELSE 0 END)
FROM anomaly_transactions
GROUP BY 2, 3;
INSERT INTO dashboard_risk_category (level, bucket, category_id, transactions, anomalies, amount, anomalous_amount)
SELECT 1, bucket >> 1, category_id, SUM(transactions), SUM(anomalies), SUM(amount), SUM(anomalous_amount)
FROM dashboard_risk_category WHERE level = 0 GROUP BY bucket >> 1, category_id;
INSERT INTO dashboard_risk_user (level, bucket, user_id, transactions, anomalies, amount, anomalous_amount)
SELECT 1, bucket >> 1, user_id, SUM(transactions), SUM(anomalies), SUM(amount), SUM(anomalous_amount)
FROM dashboard_risk_user WHERE level = 0 GROUP BY bucket >> 1, user_id;
INSERT INTO dashboard_risk_category (level, bucket, category_id, transactions, anomalies, amount, anomalous_amount)
SELECT 2, bucket >> 1, category_id, SUM(transactions), SUM(anomalies), SUM(amount), SUM(anomalous_amount)
FROM dashboard_risk_category WHERE level = 1 GROUP BY bucket >> 1, category_id;
INSERT INTO dashboard_risk_user (level, bucket, user_id, transactions, anomalies, amount, anomalous_amount)
SELECT 2, bucket >> 1, user_id, SUM(transactions), SUM(anomalies), SUM(amount), SUM(anomalous_amount)
FROM dashboard_risk_user WHERE level = 1 GROUP BY bucket >> 1, user_id;
INSERT INTO dashboard_risk_category (level, bucket, category_id, transactions, anomalies, amount, anomalous_amount)
SELECT 3, bucket >> 1, category_id, SUM(transactions), SUM(anomalies), SUM(amount), SUM(anomalous_amount)
FROM dashboard_risk_category WHERE level = 2 GROUP BY bucket >> 1, category_id;
INSERT INTO dashboard_risk_user (level, bucket, user_id, transactions, anomalies, amount, anomalous_amount)
SELECT 3, bucket >> 1, user_id, SUM(transactions), SUM(anomalies), SUM(amount), SUM(anomalous_amount)
FROM dashboard_risk_user WHERE level = 2 GROUP BY bucket >> 1, user_id;
INSERT INTO dashboard_risk_category (level, bucket, category_id, transactions, anomalies, amount, anomalous_amount)
SELECT 4, bucket >> 1, category_id, SUM(transactions), SUM(anomalies), SUM(amount), SUM(anomalous_amount)
FROM dashboard_risk_category WHERE level = 3 GROUP BY bucket >> 1, category_id;
INSERT INTO dashboard_risk_user (level, bucket, user_id, transactions, anomalies, amount, anomalous_amount)
SELECT 4, bucket >> 1, user_id, SUM(transactions), SUM(anomalies), SUM(amount), SUM(anomalous_amount)
FROM dashboard_risk_user WHERE level = 3 GROUP BY bucket >> 1, user_id;
INSERT INTO dashboard_risk_category (level, bucket, category_id, transactions, anomalies, amount, anomalous_amount)
SELECT 5, bucket >> 1, category_id, SUM(transactions), SUM(anomalies), SUM(amount), SUM(anomalous_amount)
FROM dashboard_risk_category WHERE level = 4 GROUP BY bucket >> 1, category_id;
INSERT INTO dashboard_risk_user (level, bucket, user_id, transactions, anomalies, amount, anomalous_amount)
SELECT 5, bucket >> 1, user_id, SUM(transactions), SUM(anomalies), SUM(amount), SUM(anomalous_amount)
FROM dashboard_risk_user WHERE level = 4 GROUP BY bucket >> 1, user_id;
INSERT INTO dashboard_risk_category (level, bucket, category_id, transactions, anomalies, amount, anomalous_amount)
SELECT 6, bucket >> 1, category_id, SUM(transactions), SUM(anomalies), SUM(amount), SUM(anomalous_amount)
FROM dashboard_risk_category WHERE level = 5 GROUP BY bucket >> 1, category_id;
INSERT INTO dashboard_risk_user (level, bucket, user_id, transactions, anomalies, amount, anomalous_amount)
SELECT 6, bucket >> 1, user_id, SUM(transactions), SUM(anomalies), SUM(amount), SUM(anomalous_amount)
FROM dashboard_risk_user WHERE level = 5 GROUP BY bucket >> 1, user_id;
INSERT INTO dashboard_risk_category (level, bucket, category_id, transactions, anomalies, amount, anomalous_amount)
SELECT 7, bucket >> 1, category_id, SUM(transactions), SUM(anomalies), SUM(amount), SUM(anomalous_amount)
FROM dashboard_risk_category WHERE level = 6 GROUP BY bucket >> 1, category_id;
INSERT INTO dashboard_risk_user (level, bucket, user_id, transactions, anomalies, amount, anomalous_amount)
SELECT 7, bucket >> 1, user_id, SUM(transactions), SUM(anomalies), SUM(amount), SUM(anomalous_amount)
FROM dashboard_risk_user WHERE level = 6 GROUP BY bucket >> 1, user_id;
INSERT INTO dashboard_risk_category (level, bucket, category_id, transactions, anomalies, amount, anomalous_amount)
SELECT 8, bucket >> 1, category_id, SUM(transactions), SUM(anomalies), SUM(amount), SUM(anomalous_amount)
FROM dashboard_risk_category WHERE level = 7 GROUP BY bucket >> 1, category_id;
INSERT INTO dashboard_risk_user (level, bucket, user_id, transactions, anomalies, amount, anomalous_amount)
SELECT 8, bucket >> 1, user_id, SUM(transactions), SUM(anomalies), SUM(amount), SUM(anomalous_amount)
FROM dashboard_risk_user WHERE level = 7 GROUP BY bucket >> 1, user_id;
INSERT INTO dashboard_risk_category (level, bucket, category_id, transactions, anomalies, amount, anomalous_amount)
SELECT 9, bucket >> 1, category_id, SUM(transactions), SUM(anomalies), SUM(amount), SUM(anomalous_amount)
FROM dashboard_risk_category WHERE level = 8 GROUP BY bucket >> 1, category_id;
INSERT INTO dashboard_risk_user (level, bucket, user_id, transactions, anomalies, amount, anomalous_amount)
SELECT 9, bucket >> 1, user_id, SUM(transactions), SUM(anomalies), SUM(amount), SUM(anomalous_amount)
FROM dashboard_risk_user WHERE level = 8 GROUP BY bucket >> 1, user_id;

INSERT INTO dashboard_risk_state (id, rolled_up_to) VALUES (1, COALESCE((SELECT MAX(id) FROM anomaly_transactions), 0));

-- A row already summed that is deleted (a compensated batch) or changes a summed column (none does
-- today) is taken out of the sums in the same statement; rows not yet summed need nothing.
CREATE TRIGGER trg_anomaly_transactions_risk_delete AFTER DELETE ON anomaly_transactions
WHEN OLD.id <= (SELECT rolled_up_to FROM dashboard_risk_state WHERE id = 1)
BEGIN
  UPDATE dashboard_risk_category SET
    transactions = transactions - 1,
    anomalies = anomalies - OLD.is_anomaly,
    amount = amount - OLD.amount,
    anomalous_amount = anomalous_amount - CASE WHEN OLD.is_anomaly = 1 THEN OLD.amount ELSE 0 END
  WHERE category_id = OLD.category_id
    AND (level, bucket) IN (
      SELECT l.level, (CAST(unixepoch(substr(COALESCE(OLD.occurred_at, OLD.created_at), 1, 10)) / 86400 AS INTEGER) + 1000000) >> l.level
      FROM dashboard_risk_levels l);
  UPDATE dashboard_risk_user SET
    transactions = transactions - 1,
    anomalies = anomalies - OLD.is_anomaly,
    amount = amount - OLD.amount,
    anomalous_amount = anomalous_amount - CASE WHEN OLD.is_anomaly = 1 THEN OLD.amount ELSE 0 END
  WHERE user_id = OLD.user_id
    AND (level, bucket) IN (
      SELECT l.level, (CAST(unixepoch(substr(COALESCE(OLD.occurred_at, OLD.created_at), 1, 10)) / 86400 AS INTEGER) + 1000000) >> l.level
      FROM dashboard_risk_levels l);
END;

CREATE TRIGGER trg_anomaly_transactions_risk_update
AFTER UPDATE OF user_id, category_id, amount, is_anomaly, occurred_at, created_at ON anomaly_transactions
WHEN OLD.id <= (SELECT rolled_up_to FROM dashboard_risk_state WHERE id = 1)
BEGIN
  UPDATE dashboard_risk_category SET
    transactions = transactions - 1,
    anomalies = anomalies - OLD.is_anomaly,
    amount = amount - OLD.amount,
    anomalous_amount = anomalous_amount - CASE WHEN OLD.is_anomaly = 1 THEN OLD.amount ELSE 0 END
  WHERE category_id = OLD.category_id
    AND (level, bucket) IN (
      SELECT l.level, (CAST(unixepoch(substr(COALESCE(OLD.occurred_at, OLD.created_at), 1, 10)) / 86400 AS INTEGER) + 1000000) >> l.level
      FROM dashboard_risk_levels l);
  UPDATE dashboard_risk_user SET
    transactions = transactions - 1,
    anomalies = anomalies - OLD.is_anomaly,
    amount = amount - OLD.amount,
    anomalous_amount = anomalous_amount - CASE WHEN OLD.is_anomaly = 1 THEN OLD.amount ELSE 0 END
  WHERE user_id = OLD.user_id
    AND (level, bucket) IN (
      SELECT l.level, (CAST(unixepoch(substr(COALESCE(OLD.occurred_at, OLD.created_at), 1, 10)) / 86400 AS INTEGER) + 1000000) >> l.level
      FROM dashboard_risk_levels l);
  INSERT INTO dashboard_risk_category (level, bucket, category_id, transactions, anomalies, amount, anomalous_amount)
  SELECT l.level, (CAST(unixepoch(substr(COALESCE(NEW.occurred_at, NEW.created_at), 1, 10)) / 86400 AS INTEGER) + 1000000) >> l.level,
         NEW.category_id, 1, NEW.is_anomaly, NEW.amount, CASE WHEN NEW.is_anomaly = 1 THEN NEW.amount ELSE 0 END
  FROM dashboard_risk_levels l WHERE true
  ON CONFLICT (level, bucket, category_id) DO UPDATE SET
    transactions = transactions + 1,
    anomalies = anomalies + excluded.anomalies,
    amount = amount + excluded.amount,
    anomalous_amount = anomalous_amount + excluded.anomalous_amount;
  INSERT INTO dashboard_risk_user (level, bucket, user_id, transactions, anomalies, amount, anomalous_amount)
  SELECT l.level, (CAST(unixepoch(substr(COALESCE(NEW.occurred_at, NEW.created_at), 1, 10)) / 86400 AS INTEGER) + 1000000) >> l.level,
         NEW.user_id, 1, NEW.is_anomaly, NEW.amount, CASE WHEN NEW.is_anomaly = 1 THEN NEW.amount ELSE 0 END
  FROM dashboard_risk_levels l WHERE true
  ON CONFLICT (level, bucket, user_id) DO UPDATE SET
    transactions = transactions + 1,
    anomalies = anomalies + excluded.anomalies,
    amount = amount + excluded.amount,
    anomalous_amount = anomalous_amount + excluded.anomalous_amount;
END;
