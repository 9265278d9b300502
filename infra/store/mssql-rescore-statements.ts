import { TRANSACTION_COLUMNS, qualified } from './rows';

/**
 * The T-SQL of re-scoring (infra/store/mssql-rescore-store.ts). A row's time is occurred_at, or its
 * created_at (UTC) when the source did not say. Ids compare as bytes: every column that meets
 * transaction_id or run_key carries Latin1_General_100_BIN2, and OPENJSON's values are COLLATEd to it.
 */

const ROW_TIME = `COALESCE(t.occurred_at, CAST(t.created_at AS DATETIMEOFFSET(3)))`;
/** Rows of a batch still running (or failed and about to be compensated) are not re-scored nor alerted. */
const SETTLED = `(t.batch_id IS NULL OR t.batch_id IN (SELECT b.batch_id FROM dbo.batches AS b WHERE b.status = N'completed'))`;

/** Two passes over the window in one batch: the means, then the squared deviations from them. */
export const BUILD_RESCORE_BASELINES = `
SET XACT_ABORT ON;
SET NOCOUNT ON;
DELETE FROM dbo.rescore_baselines WHERE run_key = @run_key;

INSERT INTO dbo.rescore_baselines (run_key, user_id, category_id, mean, std_dev, sample_count, m2)
SELECT @run_key, t.user_id, t.category_id, AVG(t.amount), 0, COUNT(*), 0
FROM dbo.anomaly_transactions AS t
WHERE ${ROW_TIME} >= @from AND ${ROW_TIME} < @to AND (@exclude_anomalies = 0 OR t.is_anomaly = 0) AND ${SETTLED}
GROUP BY t.user_id, t.category_id;

UPDATE b
SET m2 = d.m2,
    std_dev = CASE WHEN b.sample_count >= 2 THEN SQRT(d.m2 / (b.sample_count - 1)) ELSE 0 END
FROM dbo.rescore_baselines AS b
JOIN (
  SELECT t.user_id, t.category_id, SUM((t.amount - r.mean) * (t.amount - r.mean)) AS m2
  FROM dbo.anomaly_transactions AS t
  JOIN dbo.rescore_baselines AS r ON r.run_key = @run_key AND r.user_id = t.user_id AND r.category_id = t.category_id
  WHERE ${ROW_TIME} >= @from AND ${ROW_TIME} < @to AND (@exclude_anomalies = 0 OR t.is_anomaly = 0) AND ${SETTLED}
  GROUP BY t.user_id, t.category_id
) AS d ON d.user_id = b.user_id AND d.category_id = b.category_id
WHERE b.run_key = @run_key;

SELECT COUNT(*) AS pairs FROM dbo.rescore_baselines WHERE run_key = @run_key;`;

export const READ_RESCORE_PAGE = `
SELECT TOP (@limit) t.id AS seq, t.transaction_id, t.user_id, t.category_id, t.amount, t.is_anomaly, t.alert_status
FROM dbo.anomaly_transactions AS t
WHERE t.id > @after_seq AND ${ROW_TIME} >= @from AND ${ROW_TIME} < @to AND ${SETTLED}
ORDER BY t.id;`;

export const READ_PAGE_BASELINES = `
SELECT b.user_id, b.category_id, b.mean, b.std_dev, b.sample_count, b.m2
FROM (
  SELECT DISTINCT p.user_id, p.category_id
  FROM OPENJSON(@pairs) WITH (user_id BIGINT '$[0]', category_id BIGINT '$[1]') AS p
) AS p
JOIN dbo.rescore_baselines AS b
  ON b.run_key = @run_key AND b.user_id = p.user_id AND b.category_id = p.category_id;`;

/** New scores under the run (one already recorded is kept), then only never-alerted rows start an alert. */
export const RECORD_RESCORES = `
SET XACT_ABORT ON;
SET NOCOUNT ON;
BEGIN TRANSACTION;
DECLARE @inserted INT;

INSERT INTO dbo.transaction_rescores
  (transaction_id, run_key, z_score, is_anomaly, newly_anomalous, baseline_mean, baseline_std_dev, baseline_count)
SELECT j.transaction_id, @run_key, j.z_score, j.is_anomaly, j.newly_anomalous, j.baseline_mean, j.baseline_std_dev, j.baseline_count
FROM OPENJSON(@rows) WITH (
  transaction_id NVARCHAR(128) '$[0]',
  z_score FLOAT '$[1]',
  is_anomaly BIT '$[2]',
  newly_anomalous BIT '$[3]',
  baseline_mean FLOAT '$[4]',
  baseline_std_dev FLOAT '$[5]',
  baseline_count INT '$[6]'
) AS j
WHERE NOT EXISTS (
  SELECT 1 FROM dbo.transaction_rescores AS r WITH (UPDLOCK, HOLDLOCK)
  WHERE r.transaction_id = j.transaction_id COLLATE Latin1_General_100_BIN2 AND r.run_key = @run_key
);
SET @inserted = @@ROWCOUNT;

UPDATE t
SET alert_status = N'pending'
FROM dbo.anomaly_transactions AS t
JOIN OPENJSON(@newly) WITH (transaction_id NVARCHAR(128) '$') AS n
  ON t.transaction_id = n.transaction_id COLLATE Latin1_General_100_BIN2
WHERE t.alert_status = N'none';

COMMIT TRANSACTION;
SELECT @inserted AS inserted;`;

export const LIST_RESCORE_ALERTS = `
SELECT TOP (@limit) t.id AS seq, ${qualified(TRANSACTION_COLUMNS, 't')}
FROM dbo.transaction_rescores AS r
JOIN dbo.anomaly_transactions AS t ON t.transaction_id = r.transaction_id
WHERE r.run_key = @run_key AND r.newly_anomalous = 1 AND t.alert_status = N'pending' AND t.id > @after_seq
ORDER BY t.id;`;

export const RESCORE_TOTALS = `
SELECT COUNT(*) AS rescored,
       COALESCE(SUM(CAST(is_anomaly AS INT)), 0) AS anomalies,
       COALESCE(SUM(CAST(newly_anomalous AS INT)), 0) AS newly_anomalous
FROM dbo.transaction_rescores
WHERE run_key = @run_key;`;
