/**
 * The T-SQL of the mssql model store, re-exported by mssql-statements.ts so the grammar check
 * (test/store/tsql-grammar.test.ts) parses every one of them. Parameters are `@name` inputs.
 */

const MODEL_COLUMNS = `tenant, run_id, kind, params, threshold, trained_rows, dims, trained_at, created_at, version,
  recent_operations, CASE WHEN training_data IS NULL THEN 0 ELSE 1 END AS has_training_data`;

export const GET_MODEL = `
SELECT ${MODEL_COLUMNS},
  CASE WHEN @with_state = 1 THEN state END AS state,
  CASE WHEN @with_training_data = 1 THEN training_data END AS training_data
FROM dbo.models
WHERE tenant = @tenant AND run_id = @run_id;`;

/**
 * Compare-and-swap write: with @expected_version NULL it inserts only when no model exists, otherwise
 * it updates only the row still at that version. Returns saved = 1 when it wrote.
 */
export const SAVE_MODEL = `
SET XACT_ABORT ON;
SET NOCOUNT ON;
DECLARE @saved INT = 0;
BEGIN TRANSACTION;
IF @expected_version IS NULL
BEGIN
  INSERT INTO dbo.models
    (tenant, run_id, kind, params, state, threshold, trained_rows, dims, trained_at, version, training_data,
     recent_operations, created_at)
  SELECT @tenant, @run_id, @kind, @params, @state, @threshold, @trained_rows, @dims, SYSUTCDATETIME(), 1, @training_data,
    @recent_operations, SYSUTCDATETIME()
  WHERE NOT EXISTS (
    SELECT 1 FROM dbo.models WITH (UPDLOCK, HOLDLOCK) WHERE tenant = @tenant AND run_id = @run_id
  );
  SET @saved = @@ROWCOUNT;
END
ELSE
BEGIN
  UPDATE dbo.models
  SET kind = @kind,
      params = @params,
      state = @state,
      threshold = @threshold,
      trained_rows = @trained_rows,
      dims = @dims,
      trained_at = SYSUTCDATETIME(),
      version = version + 1,
      training_data = @training_data,
      recent_operations = @recent_operations
  WHERE tenant = @tenant AND run_id = @run_id AND version = @expected_version;
  SET @saved = @@ROWCOUNT;
END;
COMMIT TRANSACTION;
SELECT @saved AS saved;`;

export const LIST_MODELS = `
SELECT TOP (@limit) ${MODEL_COLUMNS}
FROM dbo.models
WHERE tenant = @tenant
ORDER BY run_id;`;

/**
 * Inserts the results passed as one JSON array (@results; OPENJSON keeps the parameter count at a few
 * whatever the row count), skipping ids already stored, only while the model exists. ORDER BY makes
 * the identity (seq) follow the row order. Returns inserted = -1 when the model is gone.
 *
 * An OPENJSON column has the database's default collation and model_results.result_id is
 * Latin1_General_100_BIN2: comparing them without COLLATE fails with error 468 wherever the default
 * is not BIN2 (Azure SQL's is case-insensitive). The COLLATE goes on the OPENJSON side (the column's
 * own collation, so the unique index still serves the lookup; sqlfluff's grammar does not take
 * COLLATE inside OPENJSON's WITH list).
 */
export const RECORD_MODEL_RESULTS = `
SET XACT_ABORT ON;
SET NOCOUNT ON;
DECLARE @inserted INT = -1;
BEGIN TRANSACTION;
IF EXISTS (SELECT 1 FROM dbo.models WITH (UPDLOCK, HOLDLOCK) WHERE tenant = @tenant AND run_id = @run_id)
BEGIN
  INSERT INTO dbo.model_results
    (tenant, run_id, result_id, detection_id, row_index, input, scores, is_anomaly, model_version)
  SELECT @tenant, @run_id, r.result_id, r.detection_id, r.row_index, r.input, r.scores, r.is_anomaly, @model_version
  FROM OPENJSON(@results) WITH (
    result_id NVARCHAR(200) '$.id',
    detection_id NVARCHAR(160) '$.detectionId',
    row_index INT '$.row',
    input NVARCHAR(MAX) '$.input' AS JSON,
    scores NVARCHAR(MAX) '$.scores' AS JSON,
    is_anomaly BIT '$.isAnomaly'
  ) AS r
  WHERE NOT EXISTS (
    SELECT 1 FROM dbo.model_results AS m WITH (UPDLOCK, HOLDLOCK)
    WHERE m.tenant = @tenant AND m.run_id = @run_id AND m.result_id = r.result_id COLLATE Latin1_General_100_BIN2
  )
  ORDER BY r.row_index;
  SET @inserted = @@ROWCOUNT;
END;
COMMIT TRANSACTION;
SELECT @inserted AS inserted;`;

export const LIST_MODEL_RESULTS = `
SELECT TOP (@limit) seq, result_id, detection_id, row_index, input, scores, is_anomaly, model_version, created_at
FROM dbo.model_results
WHERE tenant = @tenant AND run_id = @run_id AND seq > @after
ORDER BY seq;`;

export const DELETE_MODEL = `
SET XACT_ABORT ON;
SET NOCOUNT ON;
DECLARE @results_deleted INT;
DECLARE @models_deleted INT;
BEGIN TRANSACTION;
DELETE FROM dbo.model_results WHERE tenant = @tenant AND run_id = @run_id;
SET @results_deleted = @@ROWCOUNT;
DELETE FROM dbo.models WHERE tenant = @tenant AND run_id = @run_id;
SET @models_deleted = @@ROWCOUNT;
COMMIT TRANSACTION;
SELECT @models_deleted AS models_deleted, @results_deleted AS results_deleted;`;
