-- The dashboard's reads (issue 11): every page answers from an index range, never a table scan.

-- Anomalies, newest stored first, by each filter the page offers. Filtered: only anomalous rows (about
-- 1 % of a store) are in them, so a batch's normal rows cost no extra index write.
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'dbo.anomaly_transactions') AND name = N'ix_anomaly_transactions_anomalies_recent')
  CREATE INDEX ix_anomaly_transactions_anomalies_recent ON dbo.anomaly_transactions (created_at, id) WHERE is_anomaly = 1;
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'dbo.anomaly_transactions') AND name = N'ix_anomaly_transactions_anomalies_user')
  CREATE INDEX ix_anomaly_transactions_anomalies_user ON dbo.anomaly_transactions (user_id, created_at, id) WHERE is_anomaly = 1;
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'dbo.anomaly_transactions') AND name = N'ix_anomaly_transactions_anomalies_category')
  CREATE INDEX ix_anomaly_transactions_anomalies_category ON dbo.anomaly_transactions (category_id, created_at, id) WHERE is_anomaly = 1;
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'dbo.anomaly_transactions') AND name = N'ix_anomaly_transactions_anomalies_batch')
  CREATE INDEX ix_anomaly_transactions_anomalies_batch ON dbo.anomaly_transactions (batch_id, created_at, id) WHERE is_anomaly = 1;
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'dbo.anomaly_transactions') AND name = N'ix_anomaly_transactions_anomalies_alert')
  CREATE INDEX ix_anomaly_transactions_anomalies_alert ON dbo.anomaly_transactions (alert_status, created_at, id) WHERE is_anomaly = 1;
GO

-- One (user, category) over time, and the rows stored after an anomaly (its baseline is unfolded from
-- them: amount and verdict are in the index, so that needs no table reads). Every row is in it: this is
-- the write cost the dashboard adds to a batch (see the README).
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'dbo.anomaly_transactions') AND name = N'ix_anomaly_transactions_pair')
  CREATE INDEX ix_anomaly_transactions_pair ON dbo.anomaly_transactions (user_id, category_id, id) INCLUDE (amount, is_anomaly);
-- The alert page counts deliveries being retried.
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'dbo.alert_deliveries') AND name = N'ix_alert_deliveries_status')
  CREATE INDEX ix_alert_deliveries_status ON dbo.alert_deliveries (status) WHERE status <> N'sent';
GO

-- Risk by category and by user over a window: sums per dyadic block of days, so any window of whole
-- days reads at most two blocks per level (about 18) per category or user instead of every day or
-- every transaction. A row's day is its time (occurred_at, else created_at) in UTC, as re-scoring
-- windows count it, numbered from 1970-01-01 plus 1,000,000 (positive for every date a row can have);
-- the block of level L holds days [b * 2^L, (b + 1) * 2^L). Kept by a statement trigger (below): SQL
-- Server may commit IDENTITY values out of order, so the SQLite dialect's fold-by-id would miss rows here.
IF OBJECT_ID(N'dbo.dashboard_risk_levels', N'U') IS NULL
BEGIN
  CREATE TABLE dbo.dashboard_risk_levels (
    level INT NOT NULL CONSTRAINT pk_dashboard_risk_levels PRIMARY KEY,
    span  INT NOT NULL
  );
  INSERT INTO dbo.dashboard_risk_levels (level, span)
  VALUES (0, 1), (1, 2), (2, 4), (3, 8), (4, 16), (5, 32), (6, 64), (7, 128), (8, 256), (9, 512);
END;
GO

IF OBJECT_ID(N'dbo.dashboard_risk_category', N'U') IS NULL
BEGIN
  CREATE TABLE dbo.dashboard_risk_category (
    level            INT    NOT NULL,
    bucket           INT    NOT NULL,
    category_id      BIGINT NOT NULL,
    transactions     BIGINT NOT NULL,
    anomalies        BIGINT NOT NULL,
    amount           FLOAT  NOT NULL,
    anomalous_amount FLOAT  NOT NULL,
    CONSTRAINT pk_dashboard_risk_category PRIMARY KEY (level, bucket, category_id)
  );
  CREATE TABLE dbo.dashboard_risk_user (
    level            INT    NOT NULL,
    bucket           INT    NOT NULL,
    user_id          BIGINT NOT NULL,
    transactions     BIGINT NOT NULL,
    anomalies        BIGINT NOT NULL,
    amount           FLOAT  NOT NULL,
    anomalous_amount FLOAT  NOT NULL,
    CONSTRAINT pk_dashboard_risk_user PRIMARY KEY (level, bucket, user_id)
  );

  -- Backfill from every stored row: days first, then each level from the one below (half as many blocks).
  INSERT INTO dbo.dashboard_risk_category (level, bucket, category_id, transactions, anomalies, amount, anomalous_amount)
  SELECT 0, d.day, d.category_id, COUNT_BIG(*), SUM(CAST(d.is_anomaly AS BIGINT)), SUM(d.amount),
         SUM(CASE WHEN d.is_anomaly = 1 THEN d.amount ELSE 0 END)
  FROM (SELECT DATEDIFF(DAY, '19700101', COALESCE(CAST(SWITCHOFFSET(t.occurred_at, '+00:00') AS DATE), CAST(t.created_at AS DATE))) + 1000000 AS day, t.category_id, t.is_anomaly, t.amount FROM dbo.anomaly_transactions AS t) AS d
  GROUP BY d.day, d.category_id;
  INSERT INTO dbo.dashboard_risk_user (level, bucket, user_id, transactions, anomalies, amount, anomalous_amount)
  SELECT 0, d.day, d.user_id, COUNT_BIG(*), SUM(CAST(d.is_anomaly AS BIGINT)), SUM(d.amount),
         SUM(CASE WHEN d.is_anomaly = 1 THEN d.amount ELSE 0 END)
  FROM (SELECT DATEDIFF(DAY, '19700101', COALESCE(CAST(SWITCHOFFSET(t.occurred_at, '+00:00') AS DATE), CAST(t.created_at AS DATE))) + 1000000 AS day, t.user_id, t.is_anomaly, t.amount FROM dbo.anomaly_transactions AS t) AS d
  GROUP BY d.day, d.user_id;
  INSERT INTO dbo.dashboard_risk_category (level, bucket, category_id, transactions, anomalies, amount, anomalous_amount)
  SELECT 1, r.bucket / 2, r.category_id, SUM(r.transactions), SUM(r.anomalies), SUM(r.amount), SUM(r.anomalous_amount)
  FROM dbo.dashboard_risk_category AS r WHERE r.level = 0 GROUP BY r.bucket / 2, r.category_id;
  INSERT INTO dbo.dashboard_risk_user (level, bucket, user_id, transactions, anomalies, amount, anomalous_amount)
  SELECT 1, r.bucket / 2, r.user_id, SUM(r.transactions), SUM(r.anomalies), SUM(r.amount), SUM(r.anomalous_amount)
  FROM dbo.dashboard_risk_user AS r WHERE r.level = 0 GROUP BY r.bucket / 2, r.user_id;
  INSERT INTO dbo.dashboard_risk_category (level, bucket, category_id, transactions, anomalies, amount, anomalous_amount)
  SELECT 2, r.bucket / 2, r.category_id, SUM(r.transactions), SUM(r.anomalies), SUM(r.amount), SUM(r.anomalous_amount)
  FROM dbo.dashboard_risk_category AS r WHERE r.level = 1 GROUP BY r.bucket / 2, r.category_id;
  INSERT INTO dbo.dashboard_risk_user (level, bucket, user_id, transactions, anomalies, amount, anomalous_amount)
  SELECT 2, r.bucket / 2, r.user_id, SUM(r.transactions), SUM(r.anomalies), SUM(r.amount), SUM(r.anomalous_amount)
  FROM dbo.dashboard_risk_user AS r WHERE r.level = 1 GROUP BY r.bucket / 2, r.user_id;
  INSERT INTO dbo.dashboard_risk_category (level, bucket, category_id, transactions, anomalies, amount, anomalous_amount)
  SELECT 3, r.bucket / 2, r.category_id, SUM(r.transactions), SUM(r.anomalies), SUM(r.amount), SUM(r.anomalous_amount)
  FROM dbo.dashboard_risk_category AS r WHERE r.level = 2 GROUP BY r.bucket / 2, r.category_id;
  INSERT INTO dbo.dashboard_risk_user (level, bucket, user_id, transactions, anomalies, amount, anomalous_amount)
  SELECT 3, r.bucket / 2, r.user_id, SUM(r.transactions), SUM(r.anomalies), SUM(r.amount), SUM(r.anomalous_amount)
  FROM dbo.dashboard_risk_user AS r WHERE r.level = 2 GROUP BY r.bucket / 2, r.user_id;
  INSERT INTO dbo.dashboard_risk_category (level, bucket, category_id, transactions, anomalies, amount, anomalous_amount)
  SELECT 4, r.bucket / 2, r.category_id, SUM(r.transactions), SUM(r.anomalies), SUM(r.amount), SUM(r.anomalous_amount)
  FROM dbo.dashboard_risk_category AS r WHERE r.level = 3 GROUP BY r.bucket / 2, r.category_id;
  INSERT INTO dbo.dashboard_risk_user (level, bucket, user_id, transactions, anomalies, amount, anomalous_amount)
  SELECT 4, r.bucket / 2, r.user_id, SUM(r.transactions), SUM(r.anomalies), SUM(r.amount), SUM(r.anomalous_amount)
  FROM dbo.dashboard_risk_user AS r WHERE r.level = 3 GROUP BY r.bucket / 2, r.user_id;
  INSERT INTO dbo.dashboard_risk_category (level, bucket, category_id, transactions, anomalies, amount, anomalous_amount)
  SELECT 5, r.bucket / 2, r.category_id, SUM(r.transactions), SUM(r.anomalies), SUM(r.amount), SUM(r.anomalous_amount)
  FROM dbo.dashboard_risk_category AS r WHERE r.level = 4 GROUP BY r.bucket / 2, r.category_id;
  INSERT INTO dbo.dashboard_risk_user (level, bucket, user_id, transactions, anomalies, amount, anomalous_amount)
  SELECT 5, r.bucket / 2, r.user_id, SUM(r.transactions), SUM(r.anomalies), SUM(r.amount), SUM(r.anomalous_amount)
  FROM dbo.dashboard_risk_user AS r WHERE r.level = 4 GROUP BY r.bucket / 2, r.user_id;
  INSERT INTO dbo.dashboard_risk_category (level, bucket, category_id, transactions, anomalies, amount, anomalous_amount)
  SELECT 6, r.bucket / 2, r.category_id, SUM(r.transactions), SUM(r.anomalies), SUM(r.amount), SUM(r.anomalous_amount)
  FROM dbo.dashboard_risk_category AS r WHERE r.level = 5 GROUP BY r.bucket / 2, r.category_id;
  INSERT INTO dbo.dashboard_risk_user (level, bucket, user_id, transactions, anomalies, amount, anomalous_amount)
  SELECT 6, r.bucket / 2, r.user_id, SUM(r.transactions), SUM(r.anomalies), SUM(r.amount), SUM(r.anomalous_amount)
  FROM dbo.dashboard_risk_user AS r WHERE r.level = 5 GROUP BY r.bucket / 2, r.user_id;
  INSERT INTO dbo.dashboard_risk_category (level, bucket, category_id, transactions, anomalies, amount, anomalous_amount)
  SELECT 7, r.bucket / 2, r.category_id, SUM(r.transactions), SUM(r.anomalies), SUM(r.amount), SUM(r.anomalous_amount)
  FROM dbo.dashboard_risk_category AS r WHERE r.level = 6 GROUP BY r.bucket / 2, r.category_id;
  INSERT INTO dbo.dashboard_risk_user (level, bucket, user_id, transactions, anomalies, amount, anomalous_amount)
  SELECT 7, r.bucket / 2, r.user_id, SUM(r.transactions), SUM(r.anomalies), SUM(r.amount), SUM(r.anomalous_amount)
  FROM dbo.dashboard_risk_user AS r WHERE r.level = 6 GROUP BY r.bucket / 2, r.user_id;
  INSERT INTO dbo.dashboard_risk_category (level, bucket, category_id, transactions, anomalies, amount, anomalous_amount)
  SELECT 8, r.bucket / 2, r.category_id, SUM(r.transactions), SUM(r.anomalies), SUM(r.amount), SUM(r.anomalous_amount)
  FROM dbo.dashboard_risk_category AS r WHERE r.level = 7 GROUP BY r.bucket / 2, r.category_id;
  INSERT INTO dbo.dashboard_risk_user (level, bucket, user_id, transactions, anomalies, amount, anomalous_amount)
  SELECT 8, r.bucket / 2, r.user_id, SUM(r.transactions), SUM(r.anomalies), SUM(r.amount), SUM(r.anomalous_amount)
  FROM dbo.dashboard_risk_user AS r WHERE r.level = 7 GROUP BY r.bucket / 2, r.user_id;
  INSERT INTO dbo.dashboard_risk_category (level, bucket, category_id, transactions, anomalies, amount, anomalous_amount)
  SELECT 9, r.bucket / 2, r.category_id, SUM(r.transactions), SUM(r.anomalies), SUM(r.amount), SUM(r.anomalous_amount)
  FROM dbo.dashboard_risk_category AS r WHERE r.level = 8 GROUP BY r.bucket / 2, r.category_id;
  INSERT INTO dbo.dashboard_risk_user (level, bucket, user_id, transactions, anomalies, amount, anomalous_amount)
  SELECT 9, r.bucket / 2, r.user_id, SUM(r.transactions), SUM(r.anomalies), SUM(r.amount), SUM(r.anomalous_amount)
  FROM dbo.dashboard_risk_user AS r WHERE r.level = 8 GROUP BY r.bucket / 2, r.user_id;
END;
GO

-- Set-based: one run per statement, whatever its row count (a batch chunk's insert, a compensation's
-- delete). An update that changes none of the summed columns (alert status moves) does nothing.
CREATE OR ALTER TRIGGER dbo.trg_anomaly_transactions_risk ON dbo.anomaly_transactions
AFTER INSERT, UPDATE, DELETE
AS
BEGIN
  SET NOCOUNT ON;
  IF NOT EXISTS (SELECT 1 FROM inserted) AND NOT EXISTS (SELECT 1 FROM deleted)
    RETURN;
  IF EXISTS (SELECT 1 FROM inserted) AND EXISTS (SELECT 1 FROM deleted)
    AND NOT (UPDATE(user_id) OR UPDATE(category_id) OR UPDATE(amount) OR UPDATE(is_anomaly) OR UPDATE(occurred_at) OR UPDATE(created_at))
    RETURN;

  DECLARE @changes TABLE (
    day         INT    NOT NULL,
    user_id     BIGINT NOT NULL,
    category_id BIGINT NOT NULL,
    n           BIGINT NOT NULL,
    anomalies   BIGINT NOT NULL,
    amount      FLOAT  NOT NULL,
    anomalous   FLOAT  NOT NULL
  );
  INSERT INTO @changes (day, user_id, category_id, n, anomalies, amount, anomalous)
  SELECT DATEDIFF(DAY, '19700101', COALESCE(CAST(SWITCHOFFSET(i.occurred_at, '+00:00') AS DATE), CAST(i.created_at AS DATE))) + 1000000, i.user_id, i.category_id,
         1, CAST(i.is_anomaly AS BIGINT), i.amount, CASE WHEN i.is_anomaly = 1 THEN i.amount ELSE 0 END
  FROM inserted AS i
  UNION ALL
  SELECT DATEDIFF(DAY, '19700101', COALESCE(CAST(SWITCHOFFSET(o.occurred_at, '+00:00') AS DATE), CAST(o.created_at AS DATE))) + 1000000, o.user_id, o.category_id,
         -1, -CAST(o.is_anomaly AS BIGINT), -o.amount, CASE WHEN o.is_anomaly = 1 THEN -o.amount ELSE 0 END
  FROM deleted AS o;

  MERGE dbo.dashboard_risk_category WITH (HOLDLOCK) AS r
  USING (
    SELECT l.level, c.day / l.span AS bucket, c.category_id, SUM(c.n) AS n, SUM(c.anomalies) AS anomalies, SUM(c.amount) AS amount,
           SUM(c.anomalous) AS anomalous
    FROM @changes AS c
    CROSS JOIN dbo.dashboard_risk_levels AS l
    GROUP BY l.level, c.day / l.span, c.category_id
  ) AS s
  ON r.level = s.level AND r.bucket = s.bucket AND r.category_id = s.category_id
  WHEN MATCHED THEN UPDATE SET
    transactions = r.transactions + s.n,
    anomalies = r.anomalies + s.anomalies,
    amount = r.amount + s.amount,
    anomalous_amount = r.anomalous_amount + s.anomalous
  WHEN NOT MATCHED BY TARGET THEN
    INSERT (level, bucket, category_id, transactions, anomalies, amount, anomalous_amount)
    VALUES (s.level, s.bucket, s.category_id, s.n, s.anomalies, s.amount, s.anomalous);

  MERGE dbo.dashboard_risk_user WITH (HOLDLOCK) AS r
  USING (
    SELECT l.level, c.day / l.span AS bucket, c.user_id, SUM(c.n) AS n, SUM(c.anomalies) AS anomalies, SUM(c.amount) AS amount,
           SUM(c.anomalous) AS anomalous
    FROM @changes AS c
    CROSS JOIN dbo.dashboard_risk_levels AS l
    GROUP BY l.level, c.day / l.span, c.user_id
  ) AS s
  ON r.level = s.level AND r.bucket = s.bucket AND r.user_id = s.user_id
  WHEN MATCHED THEN UPDATE SET
    transactions = r.transactions + s.n,
    anomalies = r.anomalies + s.anomalies,
    amount = r.amount + s.amount,
    anomalous_amount = r.anomalous_amount + s.anomalous
  WHEN NOT MATCHED BY TARGET THEN
    INSERT (level, bucket, user_id, transactions, anomalies, amount, anomalous_amount)
    VALUES (s.level, s.bucket, s.user_id, s.n, s.anomalies, s.amount, s.anomalous);
END;
GO
