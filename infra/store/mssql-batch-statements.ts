/**
 * The T-SQL of the mssql batch store (CSV batches). test/store/tsql-grammar.test.ts parses every
 * exported string with sqlfluff's tsql grammar. Parameters are `@name` inputs; rows of a chunk travel
 * as one JSON array in an NVARCHAR(MAX) parameter and are read with OPENJSON, so a 35,000-row chunk is
 * a handful of statements, never a round trip per row.
 *
 * Collation: transaction_id and series_id are Latin1_General_100_BIN2 columns. An OPENJSON column has
 * the database's default collation, and two columns of different collations cannot be compared
 * (error 468), so every comparison of an OPENJSON column with a BIN2 column puts
 * `COLLATE Latin1_General_100_BIN2` on the OPENJSON side: the explicit collation wins, it is the
 * column's own, and the index on the column still serves the seek. (SQL Server also takes COLLATE in
 * the OPENJSON WITH column list, but sqlfluff's tsql grammar does not, and the grammar check must pass.)
 * batch_id columns keep the database default, like dbo.batches.batch_id, and are only ever compared
 * with parameters or with each other. test/store/tsql-grammar.test.ts checks every comparison of
 * string columns for matching collations against the schema the migrations create.
 *
 * The chunk statements run inside one transaction the store opens (MssqlPool.inTransaction), one after
 * the other: LOCK_BATCH_CHUNK, SNAPSHOT_STORED_BY, SNAPSHOT_PAIRS, then the plan runs in the worker,
 * then WRITE_TRANSACTION_CHUNK. UPDLOCK, HOLDLOCK on the reads keeps what they read (and the key ranges
 * of rows they did not find) locked until the commit, so a single transaction scored meanwhile folds
 * into a baseline before the chunk's snapshot or after its commit, never in between.
 */

import { BATCH_COLUMNS, CHUNK_COLUMNS, SERIES_POINT_COLUMNS, TRANSACTION_COLUMNS } from './rows';

/**
 * Creates the batch as 'running' unless it exists; a failed or cancelled batch opened again runs afresh
 * under the same id. Returns the stored row.
 */
export const OPEN_BATCH = `
SET XACT_ABORT ON;
SET NOCOUNT ON;
BEGIN TRANSACTION;
INSERT INTO dbo.batches
  (batch_id, kind, file_kind, mode, source, file_name, content_sha256, status, bytes_total, options)
SELECT @batch_id, @file_kind, @file_kind, @mode, @source, @file_name, @content_sha256, N'running', @bytes_total, @options
WHERE NOT EXISTS (
  SELECT 1 FROM dbo.batches WITH (UPDLOCK, HOLDLOCK) WHERE batch_id = @batch_id
);
IF @@ROWCOUNT = 0
BEGIN
  UPDATE dbo.batches
  SET status = N'running',
      error = NULL,
      result = NULL,
      finished_at = NULL,
      rows_rejected = 0,
      updated_at = SYSUTCDATETIME()
  WHERE batch_id = @batch_id AND status IN (N'failed', N'cancelled');
  -- A run afresh reports its own rejects, not the failed run's.
  IF @@ROWCOUNT = 1
    DELETE FROM dbo.batch_rejects WHERE batch_id = @batch_id;
END;
COMMIT TRANSACTION;
SELECT ${BATCH_COLUMNS} FROM dbo.batches WHERE batch_id = @batch_id;`;

export const GET_BATCH = `
SELECT ${BATCH_COLUMNS} FROM dbo.batches WHERE batch_id = @batch_id;`;

export const LIST_BATCHES = `
SELECT TOP (@limit) ${BATCH_COLUMNS}
FROM dbo.batches
WHERE (@status IS NULL OR status = @status)
ORDER BY created_at DESC, batch_id DESC;`;

/**
 * First statement of a chunk's transaction: locks the batch row (so chunks and the compensation of one
 * batch queue behind each other) and the chunk's ledger key, and returns one row: batch_found, and the
 * ledger entry's columns (chunk_no NULL when the chunk was not committed yet).
 */
export const LOCK_BATCH_CHUNK = `
SET NOCOUNT ON;
SELECT b.batch_found, ${CHUNK_COLUMNS}
FROM (
  SELECT COUNT(*) AS batch_found FROM dbo.batches WITH (UPDLOCK, HOLDLOCK) WHERE batch_id = @batch_id AND status = N'running'
) AS b
LEFT JOIN dbo.batch_chunks AS c WITH (UPDLOCK, HOLDLOCK)
  ON c.batch_id = @batch_id AND c.chunk_no = @chunk_no;`;

/** Which of the chunk's transaction ids (@transaction_ids: a JSON array of strings) are stored, and by which batch. */
export const SNAPSHOT_STORED_BY = `
SET NOCOUNT ON;
SELECT t.transaction_id, t.batch_id
FROM OPENJSON(@transaction_ids) WITH (
  transaction_id NVARCHAR(128) '$'
) AS j
JOIN dbo.anomaly_transactions AS t WITH (UPDLOCK, HOLDLOCK)
  ON t.transaction_id = j.transaction_id COLLATE Latin1_General_100_BIN2;`;

/**
 * For every (user, category) of @pairs (a JSON array of {userId, categoryId}): the stored baseline
 * (mean NULL: none), whether this batch already backed it up (changed it in an earlier chunk), and the
 * most specific threshold override and scoring setting (per field). Backups need no lock hint: only this batch writes its own, and the
 * batch row is locked.
 */
export const SNAPSHOT_PAIRS = `
SET NOCOUNT ON;
SELECT
  p.user_id,
  p.category_id,
  s.user_id AS stats_user_id,
  s.mean,
  s.std_dev,
  s.sample_count,
  s.m2,
  s.log_count,
  s.log_mean,
  s.log_m2,
  s.recent_amounts,
  s.recent_count,
  CASE
    WHEN EXISTS (
      SELECT 1 FROM dbo.batch_baseline_backups AS k
      WHERE k.batch_id = @batch_id AND k.user_id = p.user_id AND k.category_id = p.category_id
    ) THEN 1
    ELSE 0
  END AS touched_by_batch,
  (
    SELECT TOP (1) o.z_threshold
    FROM dbo.anomaly_thresholds AS o
    WHERE (o.user_id = p.user_id AND o.category_id = p.category_id)
       OR (o.user_id = p.user_id AND o.category_id IS NULL)
       OR (o.user_id IS NULL AND o.category_id = p.category_id)
    ORDER BY CASE
      WHEN o.user_id IS NOT NULL AND o.category_id IS NOT NULL THEN 0
      WHEN o.user_id IS NOT NULL THEN 1
      ELSE 2
    END
  ) AS z_threshold,
  (
    SELECT TOP (1) g.method
    FROM dbo.anomaly_scoring_settings AS g
    WHERE g.method IS NOT NULL
      AND ((g.user_id = p.user_id AND g.category_id = p.category_id)
        OR (g.user_id = p.user_id AND g.category_id IS NULL)
        OR (g.user_id IS NULL AND g.category_id = p.category_id))
    ORDER BY CASE WHEN g.user_id IS NOT NULL AND g.category_id IS NOT NULL THEN 0 WHEN g.user_id IS NOT NULL THEN 1 ELSE 2 END
  ) AS scoring_method,
  (
    SELECT TOP (1) g.cold_start
    FROM dbo.anomaly_scoring_settings AS g
    WHERE g.cold_start IS NOT NULL
      AND ((g.user_id = p.user_id AND g.category_id = p.category_id)
        OR (g.user_id = p.user_id AND g.category_id IS NULL)
        OR (g.user_id IS NULL AND g.category_id = p.category_id))
    ORDER BY CASE WHEN g.user_id IS NOT NULL AND g.category_id IS NOT NULL THEN 0 WHEN g.user_id IS NOT NULL THEN 1 ELSE 2 END
  ) AS cold_start
FROM OPENJSON(@pairs) WITH (
  user_id     BIGINT '$.userId',
  category_id BIGINT '$.categoryId'
) AS p
LEFT JOIN dbo.anomaly_stats AS s WITH (UPDLOCK, HOLDLOCK)
  ON s.user_id = p.user_id AND s.category_id = p.category_id;`;

/**
 * For every category of @categories (a JSON array of ids): its baselines over all users (stats_category_id
 * NULL: none) and whether this batch already backed them up. Locked like the pairs' baselines.
 */
export const SNAPSHOT_CATEGORIES = `
SET NOCOUNT ON;
SELECT
  c.category_id,
  s.category_id AS stats_category_id,
  s.mean,
  s.std_dev,
  s.sample_count,
  s.m2,
  s.log_count,
  s.log_mean,
  s.log_m2,
  s.recent_amounts,
  s.recent_count,
  CASE
    WHEN EXISTS (
      SELECT 1 FROM dbo.batch_category_backups AS k
      WHERE k.batch_id = @batch_id AND k.category_id = c.category_id
    ) THEN 1
    ELSE 0
  END AS touched_by_batch
FROM OPENJSON(@categories) WITH (
  category_id BIGINT '$'
) AS c
LEFT JOIN dbo.anomaly_category_stats AS s WITH (UPDLOCK, HOLDLOCK)
  ON s.category_id = c.category_id;`;

/** A chunk's baselines (@baselines) or category baselines (@categories) as rows: every spending column. */
const SPENDING_JSON_COLUMNS = `mean           FLOAT         '$.mean',
  std_dev        FLOAT         '$.stdDev',
  sample_count   INT           '$.sampleCount',
  m2             FLOAT         '$.m2',
  log_count      INT           '$.logCount',
  log_mean       FLOAT         '$.logMean',
  log_m2         FLOAT         '$.logM2',
  recent_amounts NVARCHAR(MAX) '$.recentAmounts',
  recent_count   INT           '$.recentCount'`;

/** Every baseline column a chunk writes or a compensation restores (pair or category-wide), from the row aliased `from`. */
const baselineAssignmentsFrom = (from: string) => `mean = ${from}.mean,
    std_dev = ${from}.std_dev,
    sample_count = ${from}.sample_count,
    m2 = ${from}.m2,
    log_count = ${from}.log_count,
    log_mean = ${from}.log_mean,
    log_m2 = ${from}.log_m2,
    recent_amounts = ${from}.recent_amounts,
    recent_count = ${from}.recent_count,
    updated_at = SYSUTCDATETIME()`;

/** The chunk's rejects (@rejects), its ledger row and the batch's running counters: the tail of every chunk write. */
const WRITE_REJECTS_LEDGER_AND_COUNTERS = `
INSERT INTO dbo.batch_rejects (batch_id, line, field, reason, raw)
SELECT @batch_id, r.line, r.field, r.reason, r.raw
FROM OPENJSON(@rejects) WITH (
  line   BIGINT        '$.line',
  field  NVARCHAR(256) '$.field',
  reason NVARCHAR(MAX) '$.reason',
  raw    NVARCHAR(MAX) '$.raw'
) AS r
WHERE NOT EXISTS (
  SELECT 1 FROM dbo.batch_rejects AS k WITH (UPDLOCK, HOLDLOCK)
  WHERE k.batch_id = @batch_id AND k.line = r.line
);

INSERT INTO dbo.batch_chunks
  (batch_id, chunk_no, start_offset, end_offset, end_line, rows_read, rows_ok, rows_scored, rows_rejected,
   rows_duplicate, anomalies)
VALUES
  (@batch_id, @chunk_no, @start_offset, @end_offset, @end_line, @rows_read, @rows_ok, @rows_scored, @rows_rejected,
   @rows_duplicate, @anomalies);

UPDATE dbo.batches
SET bytes_done = @end_offset,
    chunks_done = chunks_done + 1,
    rows_total = rows_total + @rows_read,
    rows_ok = rows_ok + @rows_ok,
    rows_scored = rows_scored + @rows_scored,
    rows_rejected = rows_rejected + @rows_rejected,
    rows_duplicate = rows_duplicate + @rows_duplicate,
    anomalies = anomalies + @anomalies,
    updated_at = SYSUTCDATETIME()
WHERE batch_id = @batch_id;`;

/**
 * The writes of one transaction chunk, after its plan ran, inside the chunk's transaction:
 *  1. a backup of each pair's baseline the first time the batch changes it (existed = 0: there was none),
 *  2. the chunk's final baselines (@baselines: JSON array of {userId, categoryId, mean, stdDev, sampleCount, m2,
 *     logCount, logMean, logM2, recentAmounts, recentCount}), then the same backup and write for the
 *     category-wide baselines (@categories: JSON array of {categoryId, ...the same fields}),
 *  3. its transactions (@transactions: JSON array in file order, `seq` its index) unless already stored,
 *     anomalies as 'pending', the rest 'none'; ORDER BY seq makes the identity follow the file order,
 *  4. rejects, the ledger row and the batch counters.
 * The store sends each pair and each transaction id at most once.
 */
export const WRITE_TRANSACTION_CHUNK = `
SET XACT_ABORT ON;
SET NOCOUNT ON;

INSERT INTO dbo.batch_baseline_backups
  (batch_id, user_id, category_id, existed, mean, std_dev, sample_count, m2, log_count, log_mean, log_m2, recent_amounts, recent_count)
SELECT
  @batch_id,
  b.user_id,
  b.category_id,
  CASE WHEN s.user_id IS NULL THEN 0 ELSE 1 END,
  s.mean,
  s.std_dev,
  s.sample_count,
  s.m2,
  s.log_count,
  s.log_mean,
  s.log_m2,
  s.recent_amounts,
  s.recent_count
FROM OPENJSON(@baselines) WITH (
  user_id     BIGINT '$.userId',
  category_id BIGINT '$.categoryId'
) AS b
LEFT JOIN dbo.anomaly_stats AS s WITH (UPDLOCK, HOLDLOCK)
  ON s.user_id = b.user_id AND s.category_id = b.category_id
WHERE NOT EXISTS (
  SELECT 1 FROM dbo.batch_baseline_backups AS k WITH (UPDLOCK, HOLDLOCK)
  WHERE k.batch_id = @batch_id AND k.user_id = b.user_id AND k.category_id = b.category_id
);

UPDATE s
SET ${baselineAssignmentsFrom('b')}
FROM dbo.anomaly_stats AS s WITH (UPDLOCK, HOLDLOCK)
JOIN OPENJSON(@baselines) WITH (
  user_id        BIGINT        '$.userId',
  category_id    BIGINT        '$.categoryId',
  ${SPENDING_JSON_COLUMNS}
) AS b ON s.user_id = b.user_id AND s.category_id = b.category_id;

INSERT INTO dbo.anomaly_stats
  (user_id, category_id, mean, std_dev, sample_count, m2, log_count, log_mean, log_m2, recent_amounts, recent_count)
SELECT
  b.user_id, b.category_id, b.mean, b.std_dev, b.sample_count, b.m2, b.log_count, b.log_mean, b.log_m2, b.recent_amounts,
  b.recent_count
FROM OPENJSON(@baselines) WITH (
  user_id        BIGINT        '$.userId',
  category_id    BIGINT        '$.categoryId',
  ${SPENDING_JSON_COLUMNS}
) AS b
WHERE NOT EXISTS (
  SELECT 1 FROM dbo.anomaly_stats AS s WITH (UPDLOCK, HOLDLOCK)
  WHERE s.user_id = b.user_id AND s.category_id = b.category_id
);

INSERT INTO dbo.batch_category_backups
  (batch_id, category_id, existed, mean, std_dev, sample_count, m2, log_count, log_mean, log_m2, recent_amounts, recent_count)
SELECT
  @batch_id,
  c.category_id,
  CASE WHEN s.category_id IS NULL THEN 0 ELSE 1 END,
  s.mean,
  s.std_dev,
  s.sample_count,
  s.m2,
  s.log_count,
  s.log_mean,
  s.log_m2,
  s.recent_amounts,
  s.recent_count
FROM OPENJSON(@categories) WITH (
  category_id BIGINT '$.categoryId'
) AS c
LEFT JOIN dbo.anomaly_category_stats AS s WITH (UPDLOCK, HOLDLOCK)
  ON s.category_id = c.category_id
WHERE NOT EXISTS (
  SELECT 1 FROM dbo.batch_category_backups AS k WITH (UPDLOCK, HOLDLOCK)
  WHERE k.batch_id = @batch_id AND k.category_id = c.category_id
);

UPDATE s
SET ${baselineAssignmentsFrom('c')}
FROM dbo.anomaly_category_stats AS s WITH (UPDLOCK, HOLDLOCK)
JOIN OPENJSON(@categories) WITH (
  category_id    BIGINT        '$.categoryId',
  ${SPENDING_JSON_COLUMNS}
) AS c ON s.category_id = c.category_id;

INSERT INTO dbo.anomaly_category_stats
  (category_id, mean, std_dev, sample_count, m2, log_count, log_mean, log_m2, recent_amounts, recent_count)
SELECT c.category_id, c.mean, c.std_dev, c.sample_count, c.m2, c.log_count, c.log_mean, c.log_m2, c.recent_amounts, c.recent_count
FROM OPENJSON(@categories) WITH (
  category_id    BIGINT        '$.categoryId',
  ${SPENDING_JSON_COLUMNS}
) AS c
WHERE NOT EXISTS (
  SELECT 1 FROM dbo.anomaly_category_stats AS s WITH (UPDLOCK, HOLDLOCK)
  WHERE s.category_id = c.category_id
);

INSERT INTO dbo.anomaly_transactions
  (transaction_id, user_id, category_id, amount, occurred_at, z_score, is_anomaly, detector, batch_id, alert_status)
SELECT
  j.transaction_id,
  j.user_id,
  j.category_id,
  j.amount,
  j.occurred_at,
  j.z_score,
  j.is_anomaly,
  j.detector,
  j.batch_id,
  CASE WHEN j.is_anomaly = 1 THEN N'pending' ELSE N'none' END
FROM OPENJSON(@transactions) WITH (
  seq            INT               '$.seq',
  transaction_id NVARCHAR(128)     '$.transactionId',
  user_id        BIGINT            '$.userId',
  category_id    BIGINT            '$.categoryId',
  amount         FLOAT             '$.amount',
  occurred_at    DATETIMEOFFSET(3) '$.occurredAt',
  z_score        FLOAT             '$.zScore',
  is_anomaly     BIT               '$.isAnomaly',
  detector       NVARCHAR(64)      '$.detector',
  batch_id       NVARCHAR(128)     '$.batchId'
) AS j
WHERE NOT EXISTS (
  SELECT 1 FROM dbo.anomaly_transactions AS t WITH (UPDLOCK, HOLDLOCK)
  WHERE t.transaction_id = j.transaction_id COLLATE Latin1_General_100_BIN2
)
ORDER BY j.seq;
${WRITE_REJECTS_LEDGER_AND_COUNTERS}`;

/** A series chunk's points (@points: a JSON array of SeriesPointWrite) as rows. */
const SERIES_POINTS_JSON = `OPENJSON(@points) WITH (
  ts           DATETIME2(3) '$.ts',
  value        FLOAT        '$.value',
  expected     FLOAT        '$.expected',
  upper_margin FLOAT        '$.upperMargin',
  lower_margin FLOAT        '$.lowerMargin',
  is_anomaly   BIT          '$.isAnomaly',
  is_positive  BIT          '$.isPositiveAnomaly',
  is_negative  BIT          '$.isNegativeAnomaly',
  severity     FLOAT        '$.severity',
  period       INT          '$.period',
  line         BIGINT       '$.line'
)`;

/**
 * The writes of one series chunk inside its transaction: each point of @points (JSON array of
 * {ts, value, expected, upperMargin, lowerMargin, isAnomaly, isPositiveAnomaly, isNegativeAnomaly,
 * severity, period, line}, ts as 'YYYY-MM-DDThh:mm:ss.fff' UTC, each ts once) replaces the stored point
 * of the series at that time or is added; then rejects, the ledger row and the batch counters.
 */
export const WRITE_SERIES_CHUNK = `
SET XACT_ABORT ON;
SET NOCOUNT ON;

UPDATE p
SET value = j.value,
    expected = j.expected,
    upper_margin = j.upper_margin,
    lower_margin = j.lower_margin,
    is_anomaly = j.is_anomaly,
    is_positive = j.is_positive,
    is_negative = j.is_negative,
    severity = j.severity,
    period = j.period,
    batch_id = @batch_id,
    line = j.line
FROM dbo.series_points AS p WITH (UPDLOCK, HOLDLOCK)
JOIN ${SERIES_POINTS_JSON} AS j ON p.series_id = @series_id AND p.ts = j.ts AND p.batch_id = @batch_id;

INSERT INTO dbo.series_points
  (series_id, ts, value, expected, upper_margin, lower_margin, is_anomaly, is_positive, is_negative, severity, period,
   batch_id, line)
SELECT
  @series_id, j.ts, j.value, j.expected, j.upper_margin, j.lower_margin, j.is_anomaly, j.is_positive, j.is_negative,
  j.severity, j.period, @batch_id, j.line
FROM ${SERIES_POINTS_JSON} AS j
WHERE NOT EXISTS (
  SELECT 1 FROM dbo.series_points AS p WITH (UPDLOCK, HOLDLOCK)
  WHERE p.series_id = @series_id AND p.ts = j.ts
);
${WRITE_REJECTS_LEDGER_AND_COUNTERS}`;

export const SET_BATCH_ALERT_STATUS = `
SET NOCOUNT OFF;
UPDATE dbo.anomaly_transactions
SET alert_status = @to
WHERE batch_id = @batch_id AND is_anomaly = 1 AND id > @after_seq AND id <= @through_seq AND alert_status = @from;`;

/** Ids compare as bytes (BIN2), so the range seeks the unique index; no LIKE escaping to get wrong. */
export const TRANSACTION_ID_WITH_PREFIX = `
SELECT TOP (1) 1 AS found
FROM dbo.anomaly_transactions
WHERE transaction_id >= @prefix AND transaction_id < @prefix + NCHAR(65535);`;

/** The last @limit points the batch stored for the series, oldest first. */
export const SERIES_TAIL = `
SELECT tail.ts, tail.value
FROM (
  SELECT TOP (@limit) ts, value
  FROM dbo.series_points
  WHERE batch_id = @batch_id AND series_id = @series_id
  ORDER BY ts DESC
) AS tail
ORDER BY tail.ts;`;

/** @after NULL: from the first point. */
export const LIST_SERIES_POINTS = `
SELECT TOP (@limit) ${SERIES_POINT_COLUMNS}
FROM dbo.series_points
WHERE series_id = @series_id AND (@after IS NULL OR ts > @after)
ORDER BY ts;`;

export const LIST_REJECTS = `
SELECT TOP (@limit) line, field, reason, raw
FROM dbo.batch_rejects
WHERE batch_id = @batch_id AND line > @after_line
ORDER BY line;`;

/** `is_anomaly = 1` as a literal, so ix_anomaly_transactions_batch_anomalies (filtered on it) serves the page. */
export const LIST_BATCH_ANOMALIES = `
SELECT TOP (@limit) id AS seq, ${TRANSACTION_COLUMNS}
FROM dbo.anomaly_transactions
WHERE batch_id = @batch_id AND is_anomaly = 1 AND id > @after_seq AND alert_status = @status
ORDER BY id;`;

export const FIRST_BATCH_ANOMALIES = `
SELECT TOP (@limit) ${TRANSACTION_COLUMNS}
FROM dbo.anomaly_transactions
WHERE batch_id = @batch_id AND is_anomaly = 1
ORDER BY id;`;

/** occurred_at is stored at offset +00:00, so its date part is the UTC day ('YYYY-MM-DD'; NULL when unknown). */
export const SUMMARIZE_PER_DAY = `
SELECT
  d.occurred_day,
  COUNT(*) AS row_count,
  SUM(CASE WHEN t.is_anomaly = 1 THEN 1 ELSE 0 END) AS anomaly_count,
  SUM(t.amount) AS amount
FROM dbo.anomaly_transactions AS t
CROSS APPLY (SELECT CONVERT(NCHAR(10), CAST(t.occurred_at AS DATE), 23) AS occurred_day) AS d
WHERE t.batch_id = @batch_id
GROUP BY d.occurred_day
ORDER BY d.occurred_day;`;

export const SUMMARIZE_PER_CATEGORY = `
SELECT
  category_id,
  COUNT(*) AS row_count,
  SUM(CASE WHEN is_anomaly = 1 THEN 1 ELSE 0 END) AS anomaly_count,
  AVG(amount) AS mean_amount
FROM dbo.anomaly_transactions
WHERE batch_id = @batch_id
GROUP BY category_id
ORDER BY anomaly_count DESC, category_id;`;

export const FINISH_BATCH = `
SET NOCOUNT ON;
UPDATE dbo.batches
SET status = @status,
    error = @error,
    result = @result,
    finished_at = SYSUTCDATETIME(),
    updated_at = SYSUTCDATETIME()
WHERE batch_id = @batch_id;
SELECT ${BATCH_COLUMNS} FROM dbo.batches WHERE batch_id = @batch_id;`;

/**
 * Undoes a batch inside one transaction: the batch row first (locks it, so no chunk of the batch runs
 * meanwhile; status and reason set, counters back to zero: the ledger they sum is cleared below), the
 * baselines it changed put back from their backups (existed = 1) or deleted (existed = 0), then its
 * backups, transactions, series points and ledger deleted. Rejects stay. Returns one row of counts.
 */
export const COMPENSATE_BATCH = `
SET XACT_ABORT ON;
SET NOCOUNT ON;
DECLARE @batch_found INT = 0;
DECLARE @baselines_restored INT = 0;
DECLARE @rows_removed INT = 0;

UPDATE dbo.batches
SET status = @status,
    error = @error,
    finished_at = SYSUTCDATETIME(),
    updated_at = SYSUTCDATETIME(),
    bytes_done = 0,
    chunks_done = 0,
    rows_total = 0,
    rows_ok = 0,
    rows_scored = 0,
    rows_duplicate = 0,
    anomalies = 0
WHERE batch_id = @batch_id;
SET @batch_found = @@ROWCOUNT;

UPDATE s
SET mean = k.mean,
    std_dev = k.std_dev,
    sample_count = k.sample_count,
    m2 = k.m2,
    -- A backup written before migration 006 has no log summary or window: those stay as they are.
    log_count = COALESCE(k.log_count, s.log_count),
    log_mean = COALESCE(k.log_mean, s.log_mean),
    log_m2 = COALESCE(k.log_m2, s.log_m2),
    recent_amounts = COALESCE(k.recent_amounts, s.recent_amounts),
    recent_count = COALESCE(k.recent_count, s.recent_count),
    updated_at = SYSUTCDATETIME()
FROM dbo.anomaly_stats AS s
JOIN dbo.batch_baseline_backups AS k ON k.user_id = s.user_id AND k.category_id = s.category_id
WHERE k.batch_id = @batch_id AND k.existed = 1;
SET @baselines_restored = @@ROWCOUNT;

DELETE s
FROM dbo.anomaly_stats AS s
JOIN dbo.batch_baseline_backups AS k ON k.user_id = s.user_id AND k.category_id = s.category_id
WHERE k.batch_id = @batch_id AND k.existed = 0;
SET @baselines_restored = @baselines_restored + @@ROWCOUNT;

DELETE FROM dbo.batch_baseline_backups WHERE batch_id = @batch_id;

-- Category-wide baselines are put back too (not counted: they are not pairs).
UPDATE s
SET ${baselineAssignmentsFrom('k')}
FROM dbo.anomaly_category_stats AS s
JOIN dbo.batch_category_backups AS k ON k.category_id = s.category_id
WHERE k.batch_id = @batch_id AND k.existed = 1;

DELETE s
FROM dbo.anomaly_category_stats AS s
JOIN dbo.batch_category_backups AS k ON k.category_id = s.category_id
WHERE k.batch_id = @batch_id AND k.existed = 0;

DELETE FROM dbo.batch_category_backups WHERE batch_id = @batch_id;

DELETE FROM dbo.anomaly_transactions WHERE batch_id = @batch_id;
SET @rows_removed = @@ROWCOUNT;

DELETE FROM dbo.series_points WHERE batch_id = @batch_id;
SET @rows_removed = @rows_removed + @@ROWCOUNT;

DELETE FROM dbo.batch_chunks WHERE batch_id = @batch_id;

SELECT @batch_found AS batch_found, @rows_removed AS rows_removed, @baselines_restored AS baselines_restored;`;
