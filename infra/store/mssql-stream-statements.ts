/**
 * The T-SQL of the mssql stream-state store (checked by test/store/tsql-grammar.test.ts with every
 * other infra/store/mssql-*statements.ts). Parameters are `@name` inputs.
 */

export const GET_STREAM_STATE = `
SELECT series_id, state, version, points_seen, last_timestamp, created_at, updated_at
FROM dbo.timeseries_streams
WHERE series_id = @series_id;`;

/**
 * Compare-and-swap write: with @expected_version NULL it inserts only when the series has no state,
 * otherwise it updates only the row still at that version. Returns saved = 1 when it wrote.
 */
export const SAVE_STREAM_STATE = `
SET XACT_ABORT ON;
SET NOCOUNT ON;
DECLARE @saved INT = 0;
IF @expected_version IS NULL
BEGIN
  INSERT INTO dbo.timeseries_streams (series_id, state, version, points_seen, last_timestamp, created_at, updated_at)
  SELECT @series_id, @state, 1, @points_seen, @last_timestamp, SYSUTCDATETIME(), SYSUTCDATETIME()
  WHERE NOT EXISTS (
    SELECT 1 FROM dbo.timeseries_streams WITH (UPDLOCK, HOLDLOCK) WHERE series_id = @series_id
  );
  SET @saved = @@ROWCOUNT;
END
ELSE
BEGIN
  UPDATE dbo.timeseries_streams
  SET state = @state,
      version = version + 1,
      points_seen = @points_seen,
      last_timestamp = @last_timestamp,
      updated_at = SYSUTCDATETIME()
  WHERE series_id = @series_id AND version = @expected_version;
  SET @saved = @@ROWCOUNT;
END
SELECT @saved AS saved;`;

export const DELETE_STREAM_STATE = `
SET NOCOUNT ON;
DELETE FROM dbo.timeseries_streams WHERE series_id = @series_id;
SELECT @@ROWCOUNT AS deleted;`;
