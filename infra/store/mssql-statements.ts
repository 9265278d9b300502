/**
 * Every T-SQL statement the mssql store sends, as exported constants so `infra/sql/check_tsql.py`
 * can parse them in CI (there is no SQL Server there). Parameters are `@name` inputs bound by the
 * mssql driver (sp_executesql): no value is ever spliced into the text.
 *
 * Writes that read before they write run in one round trip with `SET XACT_ABORT ON` so any error
 * rolls the whole batch back; `UPDLOCK, HOLDLOCK` (serializable key-range locks) make
 * "check, then insert or update" atomic against concurrent callers.
 */

import { DELIVERY_COLUMNS, TRANSACTION_COLUMNS } from './rows';

export const CREATE_SCHEMA_MIGRATIONS = `
IF OBJECT_ID(N'dbo.schema_migrations', N'U') IS NULL
  CREATE TABLE dbo.schema_migrations (
    version    INT           NOT NULL CONSTRAINT pk_schema_migrations PRIMARY KEY,
    name       NVARCHAR(256) NOT NULL,
    checksum   CHAR(64)      NOT NULL,
    applied_at DATETIME2(3)  NOT NULL CONSTRAINT df_schema_migrations_applied_at DEFAULT SYSUTCDATETIME()
  );`;

/** Serialises migrators across processes; released when the surrounding transaction ends. */
export const LOCK_MIGRATIONS = `
DECLARE @lock_result INT;
EXEC @lock_result = sp_getapplock
  @Resource = N'argus:schema_migrations',
  @LockMode = N'Exclusive',
  @LockOwner = N'Transaction',
  @LockTimeout = 120000;
IF @lock_result < 0
  THROW 50001, N'could not take the argus schema migration lock', 1;`;

/**
 * Run before any migration, on every start: OPENJSON (every batch chunk, the tracked model results)
 * and AT TIME ZONE (migration 001's legacy timestamp conversion) need database compatibility level
 * 130 or higher, and a database at a lower level fails them only when they first run. Says how to
 * raise it (error 50005, so it is a permanent failure: retrying will not help).
 */
export const CHECK_COMPATIBILITY_LEVEL = `
SET NOCOUNT ON;
DECLARE @level INT = (SELECT compatibility_level FROM sys.databases WHERE database_id = DB_ID());
IF @level < 130
BEGIN
  DECLARE @message NVARCHAR(2048) = CONCAT(
    N'Argus needs database compatibility level 130 or higher (OPENJSON, AT TIME ZONE); database ', QUOTENAME(DB_NAME()),
    N' is at ', @level, N'. Raise it, then start Argus again: ALTER DATABASE ', QUOTENAME(DB_NAME()),
    N' SET COMPATIBILITY_LEVEL = 130; (or the server''s highest: 150 on SQL Server 2019, 160 on 2022 and Azure SQL).');
  THROW 50005, @message, 1;
END;`;

/**
 * Which of the finance tracker's created_at columns still hold the server's local time (DATETIME with
 * its GETDATE() default) on a server that is not on UTC. Asked only where migration 001 ran in an
 * edition that did not convert them (mssql-pool.ts: EARLIER_EDITIONS).
 */
export const LEGACY_LOCAL_TIMESTAMPS = `
SET NOCOUNT ON;
DECLARE @time_zone NVARCHAR(128) = NULL;
IF CAST(SERVERPROPERTY('EngineEdition') AS INT) IN (5, 8) OR CAST(SERVERPROPERTY('ProductMajorVersion') AS INT) >= 16
  EXEC sys.sp_executesql N'SET @tz = CURRENT_TIMEZONE_ID();', N'@tz NVARCHAR(128) OUTPUT', @tz = @time_zone OUTPUT;
SELECT
  OBJECT_NAME(c.object_id) AS table_name,
  @time_zone AS time_zone,
  DATEPART(TZOFFSET, SYSDATETIMEOFFSET()) AS offset_minutes
FROM sys.columns AS c
JOIN sys.default_constraints AS d ON d.parent_object_id = c.object_id AND d.parent_column_id = c.column_id
WHERE c.object_id IN (OBJECT_ID(N'dbo.anomaly_stats'), OBJECT_ID(N'dbo.anomaly_transactions'))
  AND c.name = N'created_at'
  AND TYPE_NAME(c.system_type_id) = N'datetime'
  AND LOWER(d.[definition]) = N'(getdate())'
  AND COALESCE(@time_zone, N'') <> N'UTC'
  AND NOT (@time_zone IS NULL AND DATEPART(TZOFFSET, SYSDATETIMEOFFSET()) = 0);`;

export const GET_APPLIED_MIGRATION = `
SELECT version, checksum FROM dbo.schema_migrations WHERE version = @version;`;

export const RECORD_MIGRATION = `
INSERT INTO dbo.schema_migrations (version, name, checksum) VALUES (@version, @name, @checksum);`;

export const GET_BASELINE = `
SELECT mean, std_dev, sample_count, m2
FROM dbo.anomaly_stats
WHERE user_id = @user_id AND category_id = @category_id;`;

export const SET_BASELINE = `
SET XACT_ABORT ON;
SET NOCOUNT ON;
BEGIN TRANSACTION;
UPDATE dbo.anomaly_stats WITH (UPDLOCK, HOLDLOCK)
SET mean = @mean,
    std_dev = @std_dev,
    sample_count = @sample_count,
    m2 = @m2,
    updated_at = SYSUTCDATETIME()
WHERE user_id = @user_id AND category_id = @category_id;
IF @@ROWCOUNT = 0
  INSERT INTO dbo.anomaly_stats (user_id, category_id, mean, std_dev, sample_count, m2)
  VALUES (@user_id, @category_id, @mean, @std_dev, @sample_count, @m2);
COMMIT TRANSACTION;`;

export const GET_THRESHOLD_OVERRIDE = `
SELECT TOP (1) z_threshold
FROM dbo.anomaly_thresholds
WHERE (user_id = @user_id AND category_id = @category_id)
   OR (user_id = @user_id AND category_id IS NULL)
   OR (user_id IS NULL AND category_id = @category_id)
ORDER BY CASE
  WHEN user_id IS NOT NULL AND category_id IS NOT NULL THEN 0
  WHEN user_id IS NOT NULL THEN 1
  ELSE 2
END;`;

/** A NULL scope column means "any"; the ON clause matches NULL to NULL so each scope has one row. */
export const UPSERT_THRESHOLD_OVERRIDE = `
SET NOCOUNT ON;
MERGE dbo.anomaly_thresholds WITH (HOLDLOCK) AS target
USING (SELECT @user_id AS user_id, @category_id AS category_id, @z_threshold AS z_threshold) AS source
ON (target.user_id = source.user_id OR (target.user_id IS NULL AND source.user_id IS NULL))
   AND (target.category_id = source.category_id OR (target.category_id IS NULL AND source.category_id IS NULL))
WHEN MATCHED THEN
  UPDATE SET z_threshold = source.z_threshold, updated_at = SYSUTCDATETIME()
WHEN NOT MATCHED THEN
  INSERT (user_id, category_id, z_threshold) VALUES (source.user_id, source.category_id, source.z_threshold);`;

export const DELETE_THRESHOLD_OVERRIDE = `
DELETE FROM dbo.anomaly_thresholds
WHERE (user_id = @user_id OR (user_id IS NULL AND @user_id IS NULL))
  AND (category_id = @category_id OR (category_id IS NULL AND @category_id IS NULL));`;

/** The log summary and window columns of a first fold (a new pair or category). */
const NEW_SPENDING_COLUMNS = 'log_count, log_mean, log_m2, recent_amounts, recent_count';
const NEW_SPENDING_VALUES = 'CASE WHEN @log_amount IS NULL THEN 0 ELSE 1 END, COALESCE(@log_amount, 0), 0, @amount_text, 1';

/**
 * One fold of every baseline of a row of anomaly_stats or anomaly_category_stats (every SET expression
 * reads the row as it was before the UPDATE):
 *   n' = n + 1;  mean' = mean + (x - mean) / n';  m2' = m2 + (x - mean)^2 * n / n';  std' = sqrt(m2' / n)
 * the same step on ln(x) (@log_amount, computed by the caller; NULL for x <= 0 leaves the log summary
 * alone), and the window of recent amounts: append @amount_text (the amount as JavaScript prints it),
 * drop the oldest once it holds @window_size (detection/univariate/recent-window.ts). SQL only cuts and
 * joins the text, so the window stays bit-identical to the batch path's.
 */
const FOLD_SET = `sample_count = sample_count + 1,
      mean = mean + (@amount - mean) / (sample_count + 1),
      m2 = m2 + (@amount - mean) * (@amount - mean) * sample_count / (sample_count + 1),
      std_dev = CASE
        WHEN sample_count >= 1
          THEN SQRT((m2 + (@amount - mean) * (@amount - mean) * sample_count / (sample_count + 1)) / sample_count)
        ELSE 0
      END,
      log_count = log_count + CASE WHEN @log_amount IS NULL THEN 0 ELSE 1 END,
      log_mean = CASE WHEN @log_amount IS NULL THEN log_mean ELSE log_mean + (@log_amount - log_mean) / (log_count + 1) END,
      log_m2 = CASE
        WHEN @log_amount IS NULL THEN log_m2
        ELSE log_m2 + (@log_amount - log_mean) * (@log_amount - log_mean) * log_count / (log_count + 1)
      END,
      recent_amounts = CASE
        WHEN recent_count = 0 THEN @amount_text
        WHEN recent_count >= @window_size
          THEN SUBSTRING(
            recent_amounts + N',' + @amount_text,
            CHARINDEX(N',', recent_amounts + N',' + @amount_text) + 1,
            LEN(recent_amounts) + LEN(@amount_text) + 1
          )
        ELSE recent_amounts + N',' + @amount_text
      END,
      recent_count = CASE WHEN recent_count >= @window_size THEN recent_count ELSE recent_count + 1 END`;

/**
 * Stores the transaction unless its id is already there and, only when it was inserted and is to be
 * folded, folds the amount into the pair's baselines and its category's (FOLD_SET), in one transaction.
 * The first amount of a key creates its baseline (n = 1, mean = x, m2 = 0, std_dev = 0).
 * Returns the stored row (the earlier one on a repeat) and whether this call inserted it.
 */
export const RECORD_TRANSACTION = `
SET XACT_ABORT ON;
SET NOCOUNT ON;
DECLARE @inserted BIT = 0;
BEGIN TRANSACTION;

INSERT INTO dbo.anomaly_transactions
  (transaction_id, user_id, category_id, amount, occurred_at, z_score, is_anomaly, detector, batch_id, alert_status)
SELECT @transaction_id, @user_id, @category_id, @amount, @occurred_at, @z_score, @is_anomaly, @detector, @batch_id, @alert_status
WHERE NOT EXISTS (
  SELECT 1 FROM dbo.anomaly_transactions WITH (UPDLOCK, HOLDLOCK) WHERE transaction_id = @transaction_id
);
IF @@ROWCOUNT = 1 SET @inserted = 1;

IF @inserted = 1 AND @fold_into_baseline = 1
BEGIN
  UPDATE dbo.anomaly_stats WITH (UPDLOCK, HOLDLOCK)
  SET ${FOLD_SET},
      updated_at = SYSUTCDATETIME()
  WHERE user_id = @user_id AND category_id = @category_id;

  IF @@ROWCOUNT = 0
    INSERT INTO dbo.anomaly_stats (user_id, category_id, mean, std_dev, sample_count, m2, ${NEW_SPENDING_COLUMNS})
    VALUES (@user_id, @category_id, @amount, 0, 1, 0, ${NEW_SPENDING_VALUES});

  UPDATE dbo.anomaly_category_stats WITH (UPDLOCK, HOLDLOCK)
  SET ${FOLD_SET},
      updated_at = SYSUTCDATETIME()
  WHERE category_id = @category_id;

  IF @@ROWCOUNT = 0
    INSERT INTO dbo.anomaly_category_stats (category_id, mean, std_dev, sample_count, m2, ${NEW_SPENDING_COLUMNS})
    VALUES (@category_id, @amount, 0, 1, 0, ${NEW_SPENDING_VALUES});
END;

COMMIT TRANSACTION;

SELECT @inserted AS inserted, ${TRANSACTION_COLUMNS}
FROM dbo.anomaly_transactions
WHERE transaction_id = @transaction_id;`;

/** The columns of a spending baseline row (anomaly_stats and anomaly_category_stats alike). */
const SPENDING_SELECT = 'mean, std_dev, sample_count, m2, log_count, log_mean, log_m2, recent_amounts, recent_count';

/** The pair's baselines (scope = N'pair') and its category's (scope = N'category'), whichever exist. */
export const GET_SPENDING_BASELINES = `
SELECT N'pair' AS scope, ${SPENDING_SELECT}
FROM dbo.anomaly_stats
WHERE user_id = @user_id AND category_id = @category_id
UNION ALL
SELECT N'category' AS scope, ${SPENDING_SELECT}
FROM dbo.anomaly_category_stats
WHERE category_id = @category_id;`;

/** Per field, the most specific scope that sets it: (user, category), then user, then category. */
export const GET_SCORING_OVERRIDE = `
SELECT
  (
    SELECT TOP (1) o.method
    FROM dbo.anomaly_scoring_settings AS o
    WHERE o.method IS NOT NULL
      AND ((o.user_id = @user_id AND o.category_id = @category_id)
        OR (o.user_id = @user_id AND o.category_id IS NULL)
        OR (o.user_id IS NULL AND o.category_id = @category_id))
    ORDER BY CASE WHEN o.user_id IS NOT NULL AND o.category_id IS NOT NULL THEN 0 WHEN o.user_id IS NOT NULL THEN 1 ELSE 2 END
  ) AS method,
  (
    SELECT TOP (1) o.cold_start
    FROM dbo.anomaly_scoring_settings AS o
    WHERE o.cold_start IS NOT NULL
      AND ((o.user_id = @user_id AND o.category_id = @category_id)
        OR (o.user_id = @user_id AND o.category_id IS NULL)
        OR (o.user_id IS NULL AND o.category_id = @category_id))
    ORDER BY CASE WHEN o.user_id IS NOT NULL AND o.category_id IS NOT NULL THEN 0 WHEN o.user_id IS NOT NULL THEN 1 ELSE 2 END
  ) AS cold_start;`;

/** A NULL scope column means "any"; the ON clause matches NULL to NULL so each scope has one row. */
export const UPSERT_SCORING_OVERRIDE = `
SET NOCOUNT ON;
MERGE dbo.anomaly_scoring_settings WITH (HOLDLOCK) AS target
USING (SELECT @user_id AS user_id, @category_id AS category_id, @method AS method, @cold_start AS cold_start) AS source
ON (target.user_id = source.user_id OR (target.user_id IS NULL AND source.user_id IS NULL))
   AND (target.category_id = source.category_id OR (target.category_id IS NULL AND source.category_id IS NULL))
WHEN MATCHED THEN
  UPDATE SET method = source.method, cold_start = source.cold_start, updated_at = SYSUTCDATETIME()
WHEN NOT MATCHED THEN
  INSERT (user_id, category_id, method, cold_start) VALUES (source.user_id, source.category_id, source.method, source.cold_start);`;

export const DELETE_SCORING_OVERRIDE = `
DELETE FROM dbo.anomaly_scoring_settings
WHERE (user_id = @user_id OR (user_id IS NULL AND @user_id IS NULL))
  AND (category_id = @category_id OR (category_id IS NULL AND @category_id IS NULL));`;

export const GET_TRANSACTION = `
SELECT ${TRANSACTION_COLUMNS}
FROM dbo.anomaly_transactions
WHERE transaction_id = @transaction_id;`;

/**
 * 'sent' and 'dead_lettered' are the dispatcher's verdicts: a late 'queued' from the alert activity
 * must not hide them. Returns whether the transaction exists, so a typo'd id fails loudly.
 */
export const SET_ALERT_STATUS = `
SET NOCOUNT ON;
UPDATE dbo.anomaly_transactions
SET alert_status = @status
WHERE transaction_id = @transaction_id
  AND (alert_status NOT IN (N'sent', N'dead_lettered') OR @status IN (N'sent', N'dead_lettered'));
SELECT COUNT(*) AS found FROM dbo.anomaly_transactions WHERE transaction_id = @transaction_id;`;

export const LIST_TRANSACTIONS_BY_ALERT_STATUS = `
SELECT TOP (@limit) ${TRANSACTION_COLUMNS}
FROM dbo.anomaly_transactions
-- The literal lets the filtered index serve the query; no alert is ever tracked as 'none'.
WHERE alert_status = @status AND alert_status <> N'none'
ORDER BY id;`;

export const GET_ALERT_DELIVERY = `
SELECT ${DELIVERY_COLUMNS}
FROM dbo.alert_deliveries
WHERE transaction_id = @transaction_id;`;

/**
 * The delivery lease: 'done' when the ledger is final, 'busy' while another claimant's lease runs,
 * else takes or renews the lease (inserting a 'pending' row when there is none). UPDLOCK, HOLDLOCK on
 * the read holds the key (or, for a missing row, its key range) until commit, so of two concurrent
 * claimants the second waits and then sees the first one's lease. Every time is the server's
 * SYSUTCDATETIME(), read once, so replicas with skewed clocks agree on who holds the lease.
 */
export const CLAIM_ALERT_DELIVERY = `
SET XACT_ABORT ON;
SET NOCOUNT ON;
DECLARE @now DATETIME2(3) = SYSUTCDATETIME();
DECLARE @found BIT = 0;
DECLARE @status NVARCHAR(16);
DECLARE @attempts INT = 0;
DECLARE @holder NVARCHAR(256);
DECLARE @held_until DATETIME2(3);
DECLARE @outcome NVARCHAR(8) = N'claimed';
BEGIN TRANSACTION;

SELECT
  @found = 1,
  @status = status,
  @attempts = attempts,
  @holder = claimed_by,
  @held_until = claimed_until
FROM dbo.alert_deliveries WITH (UPDLOCK, HOLDLOCK)
WHERE transaction_id = @transaction_id;

IF @found = 1 AND @status IN (N'sent', N'dead_lettered')
  SET @outcome = N'done';
ELSE IF @found = 1 AND @holder IS NOT NULL AND @holder <> @claimant AND @held_until > @now
  SET @outcome = N'busy';
ELSE IF @found = 1
  UPDATE dbo.alert_deliveries
  SET claimed_by = @claimant,
      claimed_until = DATEADD(MILLISECOND, @lease_ms, @now)
  WHERE transaction_id = @transaction_id;
ELSE
  INSERT INTO dbo.alert_deliveries (transaction_id, status, attempts, claimed_by, claimed_until)
  VALUES (@transaction_id, N'pending', 0, @claimant, DATEADD(MILLISECOND, @lease_ms, @now));

COMMIT TRANSACTION;

SELECT
  @outcome AS outcome,
  @status AS status,
  @attempts AS attempts,
  CASE WHEN @outcome = N'busy' THEN DATEDIFF(MILLISECOND, @now, @held_until) ELSE 0 END AS retry_in_ms;`;

/**
 * One delivery attempt: attempts + 1, and the transaction's alert status follows a final verdict.
 * Once an email went out the delivery stays 'sent': a duplicate message must not reopen it.
 *
 * @delivery.transaction_id carries the ids' collation (Latin1_General_100_BIN2, as in
 * anomaly_transactions and alert_deliveries): a table variable's column without COLLATE has the
 * database's default collation, and joining it to anomaly_transactions.transaction_id on a database
 * whose default is not BIN2 (Azure SQL's is case-insensitive) fails every call with error 468.
 * infra/sql/check_tsql.py's collation check catches that.
 */
export const RECORD_ALERT_DELIVERY = `
SET XACT_ABORT ON;
SET NOCOUNT ON;
DECLARE @delivery TABLE (
  transaction_id      NVARCHAR(128)  COLLATE Latin1_General_100_BIN2 NOT NULL,
  status              NVARCHAR(16)   NOT NULL,
  attempts            INT            NOT NULL,
  last_error          NVARCHAR(4000) NULL,
  provider_message_id NVARCHAR(256)  NULL,
  updated_at          DATETIME2(3)   NOT NULL,
  claimed_by          NVARCHAR(256)  NULL,
  claimed_until       DATETIME2(3)   NULL
);
BEGIN TRANSACTION;

MERGE dbo.alert_deliveries WITH (HOLDLOCK) AS target
USING (SELECT @transaction_id AS transaction_id) AS source
ON target.transaction_id = source.transaction_id
WHEN MATCHED THEN
  UPDATE SET
    status = CASE WHEN target.status = N'sent' THEN N'sent' ELSE @status END,
    attempts = target.attempts + 1,
    last_error = COALESCE(@last_error, target.last_error),
    provider_message_id = COALESCE(@provider_message_id, target.provider_message_id),
    updated_at = SYSUTCDATETIME(),
    claimed_by = NULL,
    claimed_until = NULL
WHEN NOT MATCHED THEN
  INSERT (transaction_id, status, attempts, last_error, provider_message_id)
  VALUES (@transaction_id, @status, 1, @last_error, @provider_message_id)
OUTPUT inserted.transaction_id, inserted.status, inserted.attempts, inserted.last_error,
       inserted.provider_message_id, inserted.updated_at, inserted.claimed_by, inserted.claimed_until
INTO @delivery;

UPDATE t
SET alert_status = d.status
FROM dbo.anomaly_transactions AS t
JOIN @delivery AS d ON d.transaction_id = t.transaction_id
WHERE d.status IN (N'sent', N'dead_lettered');

COMMIT TRANSACTION;

SELECT ${DELIVERY_COLUMNS} FROM @delivery;`;

// The model store's statements, exported from here too so the grammar check parses them.
export * from './mssql-model-statements';
