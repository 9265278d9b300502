import { BATCH_COLUMNS, qualified, SERIES_POINT_COLUMNS, TRANSACTION_COLUMNS } from './rows';

/**
 * The T-SQL of the dashboard's reads (infra/store/mssql-dashboard-store.ts). Optional filters are
 * `@x IS NULL OR …` with OPTION (RECOMPILE): each call is compiled with its values, so the optimizer
 * drops the absent filters and seeks the filtered index of the present ones (a cached plan would serve
 * every filter combination with the first call's choice). Ids compare as bytes: values from OPENJSON
 * are COLLATEd to Latin1_General_100_BIN2 where they meet such a column.
 */

const MODEL_COLUMNS = `tenant, run_id, kind, params, threshold, trained_rows, dims, trained_at, created_at, version,
  recent_operations, CASE WHEN training_data IS NULL THEN 0 ELSE 1 END AS has_training_data`;
const RESULT_COLUMNS = `seq, result_id, detection_id, row_index, input, scores, is_anomaly, model_version, created_at`;

export const LIST_DASHBOARD_ANOMALIES = `
SELECT TOP (@limit) t.id AS seq, ${qualified(TRANSACTION_COLUMNS, 't')},
  d.status AS delivery_status, d.attempts AS delivery_attempts, d.last_error AS delivery_error
FROM dbo.anomaly_transactions AS t
LEFT JOIN dbo.alert_deliveries AS d ON d.transaction_id = t.transaction_id
WHERE t.is_anomaly = 1
  AND (@user_id IS NULL OR t.user_id = @user_id)
  AND (@category_id IS NULL OR t.category_id = @category_id)
  AND (@batch_id IS NULL OR t.batch_id = @batch_id)
  AND (@alert_status IS NULL OR t.alert_status = @alert_status)
  AND (@from IS NULL OR t.created_at >= @from)
  AND (@to IS NULL OR t.created_at < @to)
  AND (@after_created_at IS NULL OR t.created_at < @after_created_at OR (t.created_at = @after_created_at AND t.id < @after_seq))
ORDER BY t.created_at DESC, t.id DESC
OPTION (RECOMPILE);`;

export const PAIR_TRANSACTIONS = `
SELECT TOP (@limit) t.id AS seq, t.transaction_id, t.amount, t.z_score, t.is_anomaly, t.alert_status, t.batch_id, t.detector,
  t.occurred_at, t.created_at
FROM dbo.anomaly_transactions AS t
WHERE t.user_id = @user_id AND t.category_id = @category_id AND t.id >= @min_seq AND (@from IS NULL OR t.created_at >= @from)
ORDER BY t.id DESC
OPTION (RECOMPILE);`;

export const PAIR_AMOUNTS = `
SELECT TOP (@limit) t.id AS seq, t.amount, t.is_anomaly
FROM dbo.anomaly_transactions AS t
WHERE t.user_id = @user_id AND t.category_id = @category_id AND t.id >= @min_seq
ORDER BY t.id DESC;`;

export const DASHBOARD_BASELINES = `
SELECT s.user_id, s.category_id, s.mean, s.std_dev, s.sample_count, s.m2, s.updated_at
FROM (
  SELECT DISTINCT p.user_id, p.category_id
  FROM OPENJSON(@pairs) WITH (user_id BIGINT '$[0]', category_id BIGINT '$[1]') AS p
) AS p
JOIN dbo.anomaly_stats AS s ON s.user_id = p.user_id AND s.category_id = p.category_id;`;

export const DASHBOARD_THRESHOLD_OVERRIDES = `
SELECT p.user_id, p.category_id, o.z_threshold
FROM (
  SELECT DISTINCT p.user_id, p.category_id
  FROM OPENJSON(@pairs) WITH (user_id BIGINT '$[0]', category_id BIGINT '$[1]') AS p
) AS p
OUTER APPLY (
  SELECT TOP (1) th.z_threshold
  FROM dbo.anomaly_thresholds AS th
  WHERE (th.user_id = p.user_id AND th.category_id = p.category_id)
     OR (th.user_id = p.user_id AND th.category_id IS NULL)
     OR (th.user_id IS NULL AND th.category_id = p.category_id)
  ORDER BY CASE WHEN th.user_id IS NOT NULL AND th.category_id IS NOT NULL THEN 0
                WHEN th.user_id IS NOT NULL THEN 1 ELSE 2 END
) AS o;`;

/**
 * One aggregation answers the page and how many groups the window has: groups below
 * @min_transactions sort last instead of being filtered out (the store drops them), so COUNT(*) OVER ()
 * still counts every group. @sort is rate, anomalies, transactions or id; @descending 1 or 0.
 */
const riskStatement = (table: string, column: string) => `
SELECT TOP (@limit) g.id, g.transactions, g.anomalies, g.rate, g.amount, g.anomalous_amount, g.groups_in_window
FROM (
  SELECT s.id, s.transactions, s.anomalies, s.rate, s.amount, s.anomalous_amount, COUNT(*) OVER () AS groups_in_window
  FROM (
    SELECT r.${column} AS id, SUM(r.transactions) AS transactions, SUM(r.anomalies) AS anomalies,
           CAST(SUM(r.anomalies) AS FLOAT) / SUM(r.transactions) AS rate, SUM(r.amount) AS amount,
           SUM(r.anomalous_amount) AS anomalous_amount
    FROM OPENJSON(@blocks) WITH (level INT '$[0]', bucket INT '$[1]') AS b
    JOIN dbo.${table} AS r ON r.level = b.level AND r.bucket = b.bucket
    GROUP BY r.${column}
    HAVING SUM(r.transactions) > 0
  ) AS s
) AS g
ORDER BY
  CASE WHEN g.transactions >= @min_transactions THEN 0 ELSE 1 END,
  CASE WHEN @sort = N'rate' AND @descending = 1 THEN g.rate END DESC,
  CASE WHEN @sort = N'rate' AND @descending = 0 THEN g.rate END ASC,
  CASE WHEN @sort = N'anomalies' AND @descending = 1 THEN g.anomalies END DESC,
  CASE WHEN @sort = N'anomalies' AND @descending = 0 THEN g.anomalies END ASC,
  CASE WHEN @sort = N'transactions' AND @descending = 1 THEN g.transactions END DESC,
  CASE WHEN @sort = N'transactions' AND @descending = 0 THEN g.transactions END ASC,
  CASE WHEN @sort = N'id' AND @descending = 1 THEN g.id END DESC,
  g.id ASC;`;

export const RISK_BY_CATEGORY = riskStatement('dashboard_risk_category', 'category_id');
export const RISK_BY_USER = riskStatement('dashboard_risk_user', 'user_id');

export const DASHBOARD_LIST_BATCHES = `
SELECT TOP (@limit) ${BATCH_COLUMNS}
FROM dbo.batches
WHERE (@status IS NULL OR status = @status)
  AND (@after_created_at IS NULL OR created_at < @after_created_at OR (created_at = @after_created_at AND batch_id < @after_batch_id))
ORDER BY created_at DESC, batch_id DESC
OPTION (RECOMPILE);`;

export const DASHBOARD_GET_BATCH = `
SELECT ${BATCH_COLUMNS} FROM dbo.batches WHERE batch_id = @batch_id;`;

export const DASHBOARD_LIST_SERIES = `
SELECT TOP (@limit) batch_id, status, rows_ok AS points, anomalies, created_at,
  COALESCE(JSON_VALUE(result, '$.series.seriesId'), JSON_VALUE(options, '$.seriesId'), batch_id) AS series_id
FROM dbo.batches
WHERE file_kind = N'timeseries'
  AND (@after_created_at IS NULL OR created_at < @after_created_at OR (created_at = @after_created_at AND batch_id < @after_batch_id))
ORDER BY created_at DESC, batch_id DESC
OPTION (RECOMPILE);`;

export const DASHBOARD_SERIES_POINTS = `
SELECT TOP (@limit) ${SERIES_POINT_COLUMNS}
FROM dbo.series_points
WHERE series_id = @series_id
  AND (@from IS NULL OR ts >= @from)
  AND (@to IS NULL OR ts < @to)
  AND (@after IS NULL OR ts > @after)
ORDER BY ts
OPTION (RECOMPILE);`;

export const DASHBOARD_LIST_MODELS = `
SELECT TOP (@limit) ${MODEL_COLUMNS}
FROM dbo.models
WHERE (@tenant IS NULL OR tenant = @tenant)
  AND (@after_tenant IS NULL OR tenant > @after_tenant OR (tenant = @after_tenant AND run_id > @after_run_id))
ORDER BY tenant, run_id
OPTION (RECOMPILE);`;

export const DASHBOARD_LIST_TENANTS = `
SELECT DISTINCT TOP (@limit) tenant FROM dbo.models ORDER BY tenant;`;

/** The newest @per_model results of each model in @models (a JSON array of [tenant, run id]). */
export const DASHBOARD_RECENT_DETECTIONS = `
SELECT m.tenant, m.run_id, r.seq, r.result_id, r.detection_id, r.row_index, r.input, r.scores, r.is_anomaly, r.model_version, r.created_at
FROM OPENJSON(@models) WITH (tenant NVARCHAR(128) '$[0]', run_id NVARCHAR(128) '$[1]') AS m
CROSS APPLY (
  SELECT TOP (@per_model) ${RESULT_COLUMNS}
  FROM dbo.model_results AS x
  WHERE x.tenant = m.tenant COLLATE Latin1_General_100_BIN2 AND x.run_id = m.run_id COLLATE Latin1_General_100_BIN2
  ORDER BY x.seq DESC
) AS r
ORDER BY m.tenant, m.run_id, r.seq DESC;`;

export const DASHBOARD_LIST_DETECTIONS = `
SELECT TOP (@limit) ${RESULT_COLUMNS}
FROM dbo.model_results
WHERE tenant = @tenant AND run_id = @run_id AND seq < @before
ORDER BY seq DESC;`;

/** The literal keeps the filtered alert-status index usable; no alert is ever tracked as 'none'. */
export const DASHBOARD_ALERT_COUNTS = `
SELECT alert_status, COUNT_BIG(*) AS n
FROM dbo.anomaly_transactions
WHERE alert_status <> N'none'
GROUP BY alert_status;
SELECT COUNT_BIG(*) AS n FROM dbo.alert_deliveries WHERE status = N'retrying' AND status <> N'sent';`;

export const DASHBOARD_RESCORE_TOTALS = `
SELECT COUNT(*) AS rescored,
       COALESCE(SUM(CAST(is_anomaly AS INT)), 0) AS anomalies,
       COALESCE(SUM(CAST(newly_anomalous AS INT)), 0) AS newly_anomalous
FROM dbo.transaction_rescores
WHERE run_key = @run_key;`;

/**
 * A dead-lettered delivery reopened with a fresh budget, and its transaction's alert 'queued', in one
 * transaction under the row locks the dispatcher's claim takes; answers reopened, sent or unknown.
 */
export const REOPEN_DEAD_LETTERED = `
SET XACT_ABORT ON;
SET NOCOUNT ON;
BEGIN TRANSACTION;
DECLARE @alert_status NVARCHAR(16);
DECLARE @delivery_status NVARCHAR(16);
SELECT @alert_status = t.alert_status
FROM dbo.anomaly_transactions AS t WITH (UPDLOCK, HOLDLOCK)
WHERE t.transaction_id = @transaction_id;
SELECT @delivery_status = d.status
FROM dbo.alert_deliveries AS d WITH (UPDLOCK, HOLDLOCK)
WHERE d.transaction_id = @transaction_id;
IF @alert_status IS NULL
BEGIN
  COMMIT TRANSACTION;
  SELECT N'unknown' AS outcome;
  RETURN;
END;
IF @alert_status = N'sent' OR @delivery_status = N'sent'
BEGIN
  COMMIT TRANSACTION;
  SELECT N'sent' AS outcome;
  RETURN;
END;
UPDATE dbo.alert_deliveries
SET status = N'retrying', attempts = 0, claimed_by = NULL, claimed_until = NULL, updated_at = SYSUTCDATETIME()
WHERE transaction_id = @transaction_id AND status = N'dead_lettered';
UPDATE dbo.anomaly_transactions
SET alert_status = N'queued'
WHERE transaction_id = @transaction_id AND alert_status <> N'sent';
COMMIT TRANSACTION;
SELECT N'reopened' AS outcome;`;
