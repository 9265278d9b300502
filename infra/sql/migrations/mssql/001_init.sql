-- Argus schema, Azure SQL / SQL Server dialect. Batches are separated by GO lines; the migrator runs
-- them in order inside one transaction. Timestamps are UTC.
--
-- anomaly_stats and anomaly_transactions may already exist: they are the finance tracker's tables. Then
-- this migration keeps their rows and column names and adds what Argus needs (m2, transaction_id, ...).
-- Ids (transaction_id, tenant, run_id) compare by binary collation, as SQLite does: on Azure SQL's default,
-- case-insensitive collation `T-1` and `t-1` would be one transaction.

-- ---------------------------------------------------------------------------------------------------
-- Upgrading the finance tracker's tables in place (nothing here acts on a database Argus creates).
--
-- Locks: the migration is one transaction, so every lock taken below is held until it commits. Each
-- ALTER COLUMN takes a schema-modification (Sch-M) lock on its table: from the first ALTER on a table
-- until the end of this migration nothing else reads or writes that table (the finance tracker's
-- queries wait, up to their own command timeout), and the ALTER itself first waits for the queries
-- already running on it. INT -> BIGINT rewrites every row (size of data), once per column, and the
-- indexes dropped below are rebuilt at the end of the same transaction: plan a maintenance window
-- and rehearse on a copy of the database (README: "Upgrading the finance tracker's database").

-- 1. The finance tracker's ids are INT, Argus's BIGINT. ALTER COLUMN ... BIGINT fails (error 5074)
--    while an index, a PRIMARY KEY, UNIQUE, CHECK or DEFAULT constraint or user-created statistics
--    name the column, so those are scripted from the catalog, dropped here and recreated as they were
--    once the columns are widened (key order and direction, INCLUDE, filter, fill factor, padding,
--    IGNORE_DUP_KEY, row/page locks, compression, filegroup; a disabled index comes back enabled).
--    What cannot be recreated as it was stops the migration, naming it, before anything changed: a
--    foreign key (its columns must keep the type of the column they reference), a computed column or
--    a schema-bound view or function using the column, and a partitioned, columnstore, XML or spatial
--    index. So does a legacy created_at this migration cannot convert to UTC (section 2).
IF OBJECT_ID(N'tempdb..#argus_id_dependents') IS NOT NULL
  DROP TABLE #argus_id_dependents;
CREATE TABLE #argus_id_dependents (
  seq        INT IDENTITY(1, 1) NOT NULL PRIMARY KEY,
  drop_order INT           NOT NULL,
  drop_sql   NVARCHAR(MAX) NOT NULL,
  create_sql NVARCHAR(MAX) NOT NULL
);

DECLARE @widened TABLE (object_id INT NOT NULL, column_id INT NOT NULL);
INSERT INTO @widened (object_id, column_id)
SELECT c.object_id, c.column_id
FROM sys.columns AS c
WHERE c.object_id IN (OBJECT_ID(N'dbo.anomaly_stats'), OBJECT_ID(N'dbo.anomaly_transactions'))
  AND c.name IN (N'user_id', N'category_id')
  AND TYPE_NAME(c.system_type_id) = N'int';

DECLARE @blocker NVARCHAR(600) = NULL;
SELECT TOP (1) @blocker = CONCAT(N'foreign key ', QUOTENAME(fk.name), N' of ', QUOTENAME(OBJECT_NAME(fk.parent_object_id)))
FROM sys.foreign_key_columns AS fkc
JOIN sys.foreign_keys AS fk ON fk.object_id = fkc.constraint_object_id
JOIN @widened AS w
  ON (w.object_id = fkc.parent_object_id AND w.column_id = fkc.parent_column_id)
  OR (w.object_id = fkc.referenced_object_id AND w.column_id = fkc.referenced_column_id);
IF @blocker IS NULL
  SELECT TOP (1) @blocker = CONCAT(N'computed column ', QUOTENAME(cc.name), N' of ', QUOTENAME(OBJECT_NAME(cc.object_id)))
  FROM sys.computed_columns AS cc
  JOIN sys.sql_expression_dependencies AS d ON d.referencing_id = cc.object_id AND d.referencing_minor_id = cc.column_id
  JOIN @widened AS w ON w.object_id = d.referenced_id AND w.column_id = d.referenced_minor_id;
IF @blocker IS NULL
  SELECT TOP (1) @blocker = CONCAT(N'schema-bound ', o.type_desc, N' ', QUOTENAME(OBJECT_SCHEMA_NAME(o.object_id)), N'.', QUOTENAME(o.name))
  FROM sys.sql_expression_dependencies AS d
  JOIN sys.objects AS o ON o.object_id = d.referencing_id
  JOIN @widened AS w ON w.object_id = d.referenced_id AND w.column_id = d.referenced_minor_id
  WHERE d.is_schema_bound_reference = 1 AND o.type NOT IN ('U', 'C', 'D');
IF @blocker IS NULL
  SELECT TOP (1) @blocker = CONCAT(LOWER(i.type_desc), CASE WHEN ds.type = 'PS' THEN N' partitioned' ELSE N'' END,
    N' index ', QUOTENAME(i.name), N' of ', QUOTENAME(OBJECT_NAME(i.object_id)))
  FROM sys.indexes AS i
  JOIN sys.data_spaces AS ds ON ds.data_space_id = i.data_space_id
  WHERE (i.type NOT IN (1, 2) OR ds.type <> 'FG')
    AND EXISTS (
      SELECT 1 FROM sys.index_columns AS ic
      JOIN @widened AS w ON w.object_id = ic.object_id AND w.column_id = ic.column_id
      WHERE ic.object_id = i.object_id AND ic.index_id = i.index_id
    );
IF @blocker IS NOT NULL
BEGIN
  DECLARE @refusal NVARCHAR(2048) = CONCAT(
    N'Argus cannot widen the finance tracker''s user_id and category_id from INT to BIGINT: ', @blocker,
    N' uses one of them and this migration cannot drop and recreate it as it was. Nothing was changed. ',
    N'Drop it, start Argus again (the migration then widens the columns), and recreate it on the BIGINT columns.');
  THROW 50003, @refusal, 1;
END;

-- The legacy created_at columns (section 2 below) must be convertible too, or nothing starts.
DECLARE @legacy_clock BIT = 0;
IF EXISTS (
  SELECT 1 FROM sys.columns AS c
  JOIN sys.default_constraints AS d ON d.parent_object_id = c.object_id AND d.parent_column_id = c.column_id
  WHERE c.object_id IN (OBJECT_ID(N'dbo.anomaly_stats'), OBJECT_ID(N'dbo.anomaly_transactions'))
    AND c.name = N'created_at' AND TYPE_NAME(c.system_type_id) = N'datetime' AND LOWER(d.[definition]) = N'(getdate())'
)
  SET @legacy_clock = 1;
DECLARE @time_zone NVARCHAR(128) = NULL;
DECLARE @offset_minutes INT = DATEPART(TZOFFSET, SYSDATETIMEOFFSET());
IF @legacy_clock = 1
  AND (CAST(SERVERPROPERTY('EngineEdition') AS INT) IN (5, 8) OR CAST(SERVERPROPERTY('ProductMajorVersion') AS INT) >= 16)
  EXEC sys.sp_executesql N'SET @tz = CURRENT_TIMEZONE_ID();', N'@tz NVARCHAR(128) OUTPUT', @tz = @time_zone OUTPUT;
IF @legacy_clock = 1 AND @time_zone IS NULL AND @offset_minutes <> 0
BEGIN
  DECLARE @clock_refusal NVARCHAR(2048) = CONCAT(
    N'The finance tracker''s created_at columns hold this server''s local time (UTC offset now ', @offset_minutes,
    N' minutes) and this server cannot name its time zone (CURRENT_TIMEZONE_ID needs SQL Server 2022 or Azure SQL), ',
    N'so Argus cannot convert them to UTC exactly across daylight-saving changes. Nothing was changed. Convert them, then start Argus again: ',
    N'for dbo.anomaly_stats and dbo.anomaly_transactions, drop the GETDATE() default of created_at, ',
    N'ADD CONSTRAINT df_<table>_created_at DEFAULT SYSUTCDATETIME() FOR created_at, and ',
    N'UPDATE <table> SET created_at = CONVERT(DATETIME, created_at AT TIME ZONE N''<the server''''s Windows time zone>'' AT TIME ZONE N''UTC'').');
  THROW 50004, @clock_refusal, 1;
END;

-- Indexes and PRIMARY KEY / UNIQUE constraints (a clustered one is dropped last and recreated first).
INSERT INTO #argus_id_dependents (drop_order, drop_sql, create_sql)
SELECT
  CASE WHEN i.type = 1 THEN 2 ELSE 1 END,
  CASE WHEN i.is_primary_key = 1 OR i.is_unique_constraint = 1
    THEN CONCAT(N'ALTER TABLE ', t.qualified, N' DROP CONSTRAINT ', QUOTENAME(i.name), N';')
    ELSE CONCAT(N'DROP INDEX ', QUOTENAME(i.name), N' ON ', t.qualified, N';')
  END,
  CASE
    WHEN i.is_hypothetical = 1 THEN N''
    WHEN i.is_primary_key = 1 OR i.is_unique_constraint = 1
      THEN CONCAT(N'ALTER TABLE ', t.qualified, N' ADD CONSTRAINT ', QUOTENAME(i.name),
        CASE WHEN i.is_primary_key = 1 THEN N' PRIMARY KEY ' ELSE N' UNIQUE ' END, i.type_desc,
        N' (', k.key_columns, N')', o.options, N' ON ', QUOTENAME(ds.name), N';')
    ELSE CONCAT(N'CREATE ', CASE WHEN i.is_unique = 1 THEN N'UNIQUE ' ELSE N'' END, i.type_desc, N' INDEX ', QUOTENAME(i.name),
      N' ON ', t.qualified, N' (', k.key_columns, N')',
      CASE WHEN k.included_columns IS NULL THEN N'' ELSE CONCAT(N' INCLUDE (', k.included_columns, N')') END,
      CASE WHEN i.has_filter = 1 THEN CONCAT(N' WHERE ', i.filter_definition) ELSE N'' END,
      o.options, N' ON ', QUOTENAME(ds.name), N';')
  END
FROM sys.indexes AS i
JOIN sys.data_spaces AS ds ON ds.data_space_id = i.data_space_id
CROSS APPLY (
  SELECT CONCAT(QUOTENAME(OBJECT_SCHEMA_NAME(i.object_id)), N'.', QUOTENAME(OBJECT_NAME(i.object_id))) AS qualified
) AS t
CROSS APPLY (
  SELECT
    STUFF((
      SELECT CONCAT(N', ', QUOTENAME(c.name), CASE WHEN ic.is_descending_key = 1 THEN N' DESC' ELSE N' ASC' END)
      FROM sys.index_columns AS ic
      JOIN sys.columns AS c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
      WHERE ic.object_id = i.object_id AND ic.index_id = i.index_id AND ic.key_ordinal > 0
      ORDER BY ic.key_ordinal
      FOR XML PATH(''), TYPE
    ).value('.', 'NVARCHAR(MAX)'), 1, 2, N'') AS key_columns,
    STUFF((
      SELECT CONCAT(N', ', QUOTENAME(c.name))
      FROM sys.index_columns AS ic
      JOIN sys.columns AS c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
      WHERE ic.object_id = i.object_id AND ic.index_id = i.index_id AND ic.is_included_column = 1
      ORDER BY ic.index_column_id
      FOR XML PATH(''), TYPE
    ).value('.', 'NVARCHAR(MAX)'), 1, 2, N'') AS included_columns
) AS k
CROSS APPLY (
  SELECT CONCAT(
    N' WITH (PAD_INDEX = ', CASE WHEN i.is_padded = 1 THEN N'ON' ELSE N'OFF' END,
    CASE WHEN i.fill_factor > 0 THEN CONCAT(N', FILLFACTOR = ', i.fill_factor) ELSE N'' END,
    N', IGNORE_DUP_KEY = ', CASE WHEN i.ignore_dup_key = 1 THEN N'ON' ELSE N'OFF' END,
    N', ALLOW_ROW_LOCKS = ', CASE WHEN i.allow_row_locks = 1 THEN N'ON' ELSE N'OFF' END,
    N', ALLOW_PAGE_LOCKS = ', CASE WHEN i.allow_page_locks = 1 THEN N'ON' ELSE N'OFF' END,
    N', DATA_COMPRESSION = ', COALESCE((
      SELECT TOP (1) p.data_compression_desc FROM sys.partitions AS p
      WHERE p.object_id = i.object_id AND p.index_id = i.index_id
    ), N'NONE'),
    N')') AS options
) AS o
WHERE i.type IN (1, 2)
  AND EXISTS (
    SELECT 1 FROM sys.index_columns AS ic
    JOIN @widened AS w ON w.object_id = ic.object_id AND w.column_id = ic.column_id
    WHERE ic.object_id = i.object_id AND ic.index_id = i.index_id
  );

-- Statistics made with CREATE STATISTICS (the optimizer's own are dropped by ALTER COLUMN itself).
INSERT INTO #argus_id_dependents (drop_order, drop_sql, create_sql)
SELECT
  1,
  CONCAT(N'DROP STATISTICS ', t.qualified, N'.', QUOTENAME(st.name), N';'),
  CONCAT(N'CREATE STATISTICS ', QUOTENAME(st.name), N' ON ', t.qualified, N' (',
    STUFF((
      SELECT CONCAT(N', ', QUOTENAME(c.name))
      FROM sys.stats_columns AS sc
      JOIN sys.columns AS c ON c.object_id = sc.object_id AND c.column_id = sc.column_id
      WHERE sc.object_id = st.object_id AND sc.stats_id = st.stats_id
      ORDER BY sc.stats_column_id
      FOR XML PATH(''), TYPE
    ).value('.', 'NVARCHAR(MAX)'), 1, 2, N''),
    N')',
    CASE WHEN st.has_filter = 1 THEN CONCAT(N' WHERE ', st.filter_definition) ELSE N'' END,
    CASE WHEN st.no_recompute = 1 THEN N' WITH NORECOMPUTE' ELSE N'' END,
    N';')
FROM sys.stats AS st
CROSS APPLY (
  SELECT CONCAT(QUOTENAME(OBJECT_SCHEMA_NAME(st.object_id)), N'.', QUOTENAME(OBJECT_NAME(st.object_id))) AS qualified
) AS t
WHERE st.user_created = 1
  AND EXISTS (
    SELECT 1 FROM sys.stats_columns AS sc
    JOIN @widened AS w ON w.object_id = sc.object_id AND w.column_id = sc.column_id
    WHERE sc.object_id = st.object_id AND sc.stats_id = st.stats_id
  );

-- CHECK constraints naming a widened column (column- or table-level), trusted or not, enabled or not.
INSERT INTO #argus_id_dependents (drop_order, drop_sql, create_sql)
SELECT
  1,
  CONCAT(N'ALTER TABLE ', t.qualified, N' DROP CONSTRAINT ', QUOTENAME(ck.name), N';'),
  CONCAT(N'ALTER TABLE ', t.qualified, CASE WHEN ck.is_not_trusted = 1 THEN N' WITH NOCHECK' ELSE N' WITH CHECK' END,
    N' ADD CONSTRAINT ', QUOTENAME(ck.name), N' CHECK ', ck.[definition], N';',
    CASE WHEN ck.is_disabled = 1 THEN CONCAT(N' ALTER TABLE ', t.qualified, N' NOCHECK CONSTRAINT ', QUOTENAME(ck.name), N';') ELSE N'' END)
FROM sys.check_constraints AS ck
CROSS APPLY (
  SELECT CONCAT(QUOTENAME(OBJECT_SCHEMA_NAME(ck.parent_object_id)), N'.', QUOTENAME(OBJECT_NAME(ck.parent_object_id))) AS qualified
) AS t
WHERE EXISTS (
  SELECT 1 FROM @widened AS w
  JOIN sys.columns AS c ON c.object_id = w.object_id AND c.column_id = w.column_id
  WHERE w.object_id = ck.parent_object_id
    AND (ck.parent_column_id = w.column_id OR CHARINDEX(QUOTENAME(c.name), ck.[definition]) > 0)
);

-- DEFAULT constraints on a widened column.
INSERT INTO #argus_id_dependents (drop_order, drop_sql, create_sql)
SELECT
  1,
  CONCAT(N'ALTER TABLE ', t.qualified, N' DROP CONSTRAINT ', QUOTENAME(df.name), N';'),
  CONCAT(N'ALTER TABLE ', t.qualified, N' ADD CONSTRAINT ', QUOTENAME(df.name), N' DEFAULT ', df.[definition],
    N' FOR ', QUOTENAME(c.name), N';')
FROM sys.default_constraints AS df
JOIN @widened AS w ON w.object_id = df.parent_object_id AND w.column_id = df.parent_column_id
JOIN sys.columns AS c ON c.object_id = w.object_id AND c.column_id = w.column_id
CROSS APPLY (
  SELECT CONCAT(QUOTENAME(OBJECT_SCHEMA_NAME(df.parent_object_id)), N'.', QUOTENAME(OBJECT_NAME(df.parent_object_id))) AS qualified
) AS t;

DECLARE @dependent_sql NVARCHAR(MAX);
DECLARE dependents_to_drop CURSOR LOCAL FAST_FORWARD FOR
  SELECT drop_sql FROM #argus_id_dependents ORDER BY drop_order, seq;
OPEN dependents_to_drop;
FETCH NEXT FROM dependents_to_drop INTO @dependent_sql;
WHILE @@FETCH_STATUS = 0
BEGIN
  EXEC sys.sp_executesql @dependent_sql;
  FETCH NEXT FROM dependents_to_drop INTO @dependent_sql;
END;
CLOSE dependents_to_drop;
DEALLOCATE dependents_to_drop;
GO

IF EXISTS (
  SELECT 1 FROM sys.columns
  WHERE object_id = OBJECT_ID(N'dbo.anomaly_stats') AND name = N'user_id' AND TYPE_NAME(system_type_id) = N'int'
)
  ALTER TABLE dbo.anomaly_stats ALTER COLUMN user_id BIGINT NOT NULL;
IF EXISTS (
  SELECT 1 FROM sys.columns
  WHERE object_id = OBJECT_ID(N'dbo.anomaly_stats') AND name = N'category_id' AND TYPE_NAME(system_type_id) = N'int'
)
  ALTER TABLE dbo.anomaly_stats ALTER COLUMN category_id BIGINT NOT NULL;
IF EXISTS (
  SELECT 1 FROM sys.columns
  WHERE object_id = OBJECT_ID(N'dbo.anomaly_transactions') AND name = N'user_id' AND TYPE_NAME(system_type_id) = N'int'
)
  ALTER TABLE dbo.anomaly_transactions ALTER COLUMN user_id BIGINT NOT NULL;
IF EXISTS (
  SELECT 1 FROM sys.columns
  WHERE object_id = OBJECT_ID(N'dbo.anomaly_transactions') AND name = N'category_id' AND TYPE_NAME(system_type_id) = N'int'
)
  ALTER TABLE dbo.anomaly_transactions ALTER COLUMN category_id BIGINT NOT NULL;
GO

DECLARE @dependent_sql NVARCHAR(MAX);
DECLARE dependents_to_create CURSOR LOCAL FAST_FORWARD FOR
  SELECT create_sql FROM #argus_id_dependents WHERE create_sql <> N'' ORDER BY drop_order DESC, seq;
OPEN dependents_to_create;
FETCH NEXT FROM dependents_to_create INTO @dependent_sql;
WHILE @@FETCH_STATUS = 0
BEGIN
  EXEC sys.sp_executesql @dependent_sql;
  FETCH NEXT FROM dependents_to_create INTO @dependent_sql;
END;
CLOSE dependents_to_create;
DEALLOCATE dependents_to_create;
DROP TABLE #argus_id_dependents;
GO

-- 2. The finance tracker's created_at is DATETIME DEFAULT GETDATE(): the server's local time. That is
--    UTC on Azure SQL Database, but a managed instance or SQL Server may run in a local time zone,
--    and Argus's timestamps are UTC. Such a column is converted once, here: its default becomes
--    SYSUTCDATETIME() first (so no local time is written meanwhile: the ALTER holds the table until the
--    migration commits), then its values are read as local times of the server's time zone and
--    converted to UTC with AT TIME ZONE, which knows that zone's daylight-saving history (a time in
--    the repeated hour of a fall-back change is read as the earlier of its two instants). The column
--    keeps its DATETIME type (no second rewrite of the table). The UPDATEs are dynamic SQL so this
--    batch compiles whatever columns a table has. The zone is CURRENT_TIMEZONE_ID()
--    (Azure SQL, SQL Server 2022 and later). A server older than that cannot name its zone: if its
--    UTC offset is 0 now it is taken to be on UTC (a zone that is at UTC+0 only in winter, such as
--    Europe/London, would go unconverted: run the upgrade in summer, or convert by hand); otherwise
--    the first batch of this migration stopped it before any change, saying how to convert by hand.
DECLARE @legacy_stats BIT = 0;
IF EXISTS (
  SELECT 1 FROM sys.columns AS c
  JOIN sys.default_constraints AS d ON d.parent_object_id = c.object_id AND d.parent_column_id = c.column_id
  WHERE c.object_id = OBJECT_ID(N'dbo.anomaly_stats') AND c.name = N'created_at'
    AND TYPE_NAME(c.system_type_id) = N'datetime' AND LOWER(d.[definition]) = N'(getdate())'
)
  SET @legacy_stats = 1;
DECLARE @legacy_transactions BIT = 0;
IF EXISTS (
  SELECT 1 FROM sys.columns AS c
  JOIN sys.default_constraints AS d ON d.parent_object_id = c.object_id AND d.parent_column_id = c.column_id
  WHERE c.object_id = OBJECT_ID(N'dbo.anomaly_transactions') AND c.name = N'created_at'
    AND TYPE_NAME(c.system_type_id) = N'datetime' AND LOWER(d.[definition]) = N'(getdate())'
)
  SET @legacy_transactions = 1;
DECLARE @time_zone NVARCHAR(128) = NULL;
DECLARE @drop_default NVARCHAR(MAX);
IF (@legacy_stats = 1 OR @legacy_transactions = 1)
  AND (CAST(SERVERPROPERTY('EngineEdition') AS INT) IN (5, 8) OR CAST(SERVERPROPERTY('ProductMajorVersion') AS INT) >= 16)
  EXEC sys.sp_executesql N'SET @tz = CURRENT_TIMEZONE_ID();', N'@tz NVARCHAR(128) OUTPUT', @tz = @time_zone OUTPUT;

IF @legacy_stats = 1
BEGIN
  SELECT @drop_default = CONCAT(N'ALTER TABLE dbo.anomaly_stats DROP CONSTRAINT ', QUOTENAME(d.name), N';')
  FROM sys.default_constraints AS d
  JOIN sys.columns AS c ON c.object_id = d.parent_object_id AND c.column_id = d.parent_column_id
  WHERE d.parent_object_id = OBJECT_ID(N'dbo.anomaly_stats') AND c.name = N'created_at';
  EXEC sys.sp_executesql @drop_default;
  ALTER TABLE dbo.anomaly_stats ADD CONSTRAINT df_anomaly_stats_created_at DEFAULT SYSUTCDATETIME() FOR created_at;
  IF @time_zone IS NOT NULL AND @time_zone <> N'UTC'
    EXEC sys.sp_executesql
      N'UPDATE dbo.anomaly_stats SET created_at = CONVERT(DATETIME, created_at AT TIME ZONE @zone AT TIME ZONE N''UTC'') WHERE created_at IS NOT NULL;',
      N'@zone NVARCHAR(128)',
      @zone = @time_zone;
END;

IF @legacy_transactions = 1
BEGIN
  SELECT @drop_default = CONCAT(N'ALTER TABLE dbo.anomaly_transactions DROP CONSTRAINT ', QUOTENAME(d.name), N';')
  FROM sys.default_constraints AS d
  JOIN sys.columns AS c ON c.object_id = d.parent_object_id AND c.column_id = d.parent_column_id
  WHERE d.parent_object_id = OBJECT_ID(N'dbo.anomaly_transactions') AND c.name = N'created_at';
  EXEC sys.sp_executesql @drop_default;
  ALTER TABLE dbo.anomaly_transactions ADD CONSTRAINT df_anomaly_transactions_created_at DEFAULT SYSUTCDATETIME() FOR created_at;
  IF @time_zone IS NOT NULL AND @time_zone <> N'UTC'
    EXEC sys.sp_executesql
      N'UPDATE dbo.anomaly_transactions SET created_at = CONVERT(DATETIME, created_at AT TIME ZONE @zone AT TIME ZONE N''UTC'') WHERE created_at IS NOT NULL;',
      N'@zone NVARCHAR(128)',
      @zone = @time_zone;
END;
GO

-- ---------------------------------------------------------------------------------------------------

IF OBJECT_ID(N'dbo.anomaly_stats', N'U') IS NULL
BEGIN
  CREATE TABLE dbo.anomaly_stats (
    id           INT IDENTITY(1, 1) NOT NULL CONSTRAINT pk_anomaly_stats PRIMARY KEY,
    user_id      BIGINT       NOT NULL,
    category_id  BIGINT       NOT NULL,
    mean         FLOAT        NOT NULL,
    std_dev      FLOAT        NOT NULL,
    sample_count INT          NOT NULL,
    m2           FLOAT        NOT NULL CONSTRAINT df_anomaly_stats_m2 DEFAULT 0,
    created_at   DATETIME2(3) NOT NULL CONSTRAINT df_anomaly_stats_created_at DEFAULT SYSUTCDATETIME(),
    updated_at   DATETIME2(3) NOT NULL CONSTRAINT df_anomaly_stats_updated_at DEFAULT SYSUTCDATETIME()
  );
END;
GO

IF COL_LENGTH(N'dbo.anomaly_stats', N'm2') IS NULL
  ALTER TABLE dbo.anomaly_stats ADD m2 FLOAT NOT NULL CONSTRAINT df_anomaly_stats_m2 DEFAULT 0;
IF COL_LENGTH(N'dbo.anomaly_stats', N'updated_at') IS NULL
  ALTER TABLE dbo.anomaly_stats
    ADD updated_at DATETIME2(3) NOT NULL CONSTRAINT df_anomaly_stats_updated_at DEFAULT SYSUTCDATETIME();
GO

-- Rows imported by the finance tracker carry only std_dev: derive Welford's m2 (sample std, ddof = 1).
UPDATE dbo.anomaly_stats
SET m2 = std_dev * std_dev * (sample_count - 1)
WHERE m2 = 0 AND sample_count >= 2;

-- The finance tracker's pickle import may have run twice; say so instead of failing on the index.
IF EXISTS (SELECT user_id, category_id FROM dbo.anomaly_stats GROUP BY user_id, category_id HAVING COUNT(*) > 1)
  THROW 50002, N'anomaly_stats holds duplicate (user_id, category_id) rows: delete the stale ones, then start again to migrate', 1;

IF NOT EXISTS (
  SELECT 1 FROM sys.indexes
  WHERE object_id = OBJECT_ID(N'dbo.anomaly_stats') AND name = N'ux_anomaly_stats_user_category'
)
  CREATE UNIQUE INDEX ux_anomaly_stats_user_category ON dbo.anomaly_stats (user_id, category_id);
GO

IF OBJECT_ID(N'dbo.anomaly_transactions', N'U') IS NULL
BEGIN
  CREATE TABLE dbo.anomaly_transactions (
    id             BIGINT IDENTITY(1, 1) NOT NULL CONSTRAINT pk_anomaly_transactions PRIMARY KEY,
    user_id        BIGINT           NOT NULL,
    category_id    BIGINT           NOT NULL,
    amount         FLOAT            NOT NULL,
    z_score        FLOAT            NULL,
    is_anomaly     BIT              NOT NULL,
    created_at     DATETIME2(3)     NOT NULL CONSTRAINT df_anomaly_transactions_created_at DEFAULT SYSUTCDATETIME(),
    transaction_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
    batch_id       NVARCHAR(128)    NULL,
    alert_status   NVARCHAR(16)     NOT NULL CONSTRAINT df_anomaly_transactions_alert_status DEFAULT N'none',
    occurred_at    DATETIMEOFFSET(3) NULL,
    detector       NVARCHAR(64)     NOT NULL CONSTRAINT df_anomaly_transactions_detector DEFAULT N'zscore'
  );
END;
GO

IF COL_LENGTH(N'dbo.anomaly_transactions', N'transaction_id') IS NULL
  ALTER TABLE dbo.anomaly_transactions ADD transaction_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NULL;
IF COL_LENGTH(N'dbo.anomaly_transactions', N'batch_id') IS NULL
  ALTER TABLE dbo.anomaly_transactions ADD batch_id NVARCHAR(128) NULL;
-- The finance tracker's Logic App already alerted on its rows, so they start at 'none'.
IF COL_LENGTH(N'dbo.anomaly_transactions', N'alert_status') IS NULL
  ALTER TABLE dbo.anomaly_transactions
    ADD alert_status NVARCHAR(16) NOT NULL CONSTRAINT df_anomaly_transactions_alert_status DEFAULT N'none';
IF COL_LENGTH(N'dbo.anomaly_transactions', N'occurred_at') IS NULL
  ALTER TABLE dbo.anomaly_transactions ADD occurred_at DATETIMEOFFSET(3) NULL;
IF COL_LENGTH(N'dbo.anomaly_transactions', N'detector') IS NULL
  ALTER TABLE dbo.anomaly_transactions
    ADD detector NVARCHAR(64) NOT NULL CONSTRAINT df_anomaly_transactions_detector DEFAULT N'zscore';
GO

-- Rows stored before Argus get a stable id so the column can be NOT NULL and unique.
UPDATE dbo.anomaly_transactions
SET transaction_id = CONCAT(N'legacy-', id)
WHERE transaction_id IS NULL;
GO

ALTER TABLE dbo.anomaly_transactions ALTER COLUMN transaction_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL;
-- During a cutover the finance tracker's own INSERT (no transaction_id) keeps working: its rows get a unique id.
IF OBJECT_ID(N'dbo.df_anomaly_transactions_transaction_id', N'D') IS NULL
  ALTER TABLE dbo.anomaly_transactions
    ADD CONSTRAINT df_anomaly_transactions_transaction_id DEFAULT (CONCAT(N'legacy-', NEWID())) FOR transaction_id;

IF NOT EXISTS (
  SELECT 1 FROM sys.indexes
  WHERE object_id = OBJECT_ID(N'dbo.anomaly_transactions') AND name = N'ux_anomaly_transactions_transaction_id'
)
  CREATE UNIQUE INDEX ux_anomaly_transactions_transaction_id ON dbo.anomaly_transactions (transaction_id);

ALTER TABLE dbo.anomaly_transactions WITH CHECK ADD CONSTRAINT ck_anomaly_transactions_alert_status
  CHECK (alert_status IN (N'none', N'pending', N'queued', N'failed', N'sent', N'dead_lettered'));

CREATE INDEX ix_anomaly_transactions_alert_status ON dbo.anomaly_transactions (alert_status, id);
CREATE INDEX ix_anomaly_transactions_batch ON dbo.anomaly_transactions (batch_id) WHERE batch_id IS NOT NULL;
CREATE INDEX ix_anomaly_transactions_user_category ON dbo.anomaly_transactions (user_id, category_id, id);
GO

-- A scope is (user, category), (user, any category) or (any user, category). A plain UNIQUE constraint
-- would allow only one NULL per column, so each scope shape gets its own filtered unique index.
CREATE TABLE dbo.anomaly_thresholds (
  id          INT IDENTITY(1, 1) NOT NULL CONSTRAINT pk_anomaly_thresholds PRIMARY KEY,
  user_id     BIGINT       NULL,
  category_id BIGINT       NULL,
  z_threshold FLOAT        NOT NULL CONSTRAINT ck_anomaly_thresholds_positive CHECK (z_threshold > 0),
  created_at  DATETIME2(3) NOT NULL CONSTRAINT df_anomaly_thresholds_created_at DEFAULT SYSUTCDATETIME(),
  updated_at  DATETIME2(3) NOT NULL CONSTRAINT df_anomaly_thresholds_updated_at DEFAULT SYSUTCDATETIME(),
  CONSTRAINT ck_anomaly_thresholds_scope CHECK (user_id IS NOT NULL OR category_id IS NOT NULL)
);
CREATE UNIQUE INDEX ux_anomaly_thresholds_user_category ON dbo.anomaly_thresholds (user_id, category_id)
  WHERE user_id IS NOT NULL AND category_id IS NOT NULL;
CREATE UNIQUE INDEX ux_anomaly_thresholds_user ON dbo.anomaly_thresholds (user_id)
  WHERE user_id IS NOT NULL AND category_id IS NULL;
CREATE UNIQUE INDEX ux_anomaly_thresholds_category ON dbo.anomaly_thresholds (category_id)
  WHERE user_id IS NULL AND category_id IS NOT NULL;

CREATE TABLE dbo.alert_deliveries (
  transaction_id      NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT pk_alert_deliveries PRIMARY KEY,
  status              NVARCHAR(16)   NOT NULL
                      CONSTRAINT ck_alert_deliveries_status CHECK (status IN (N'sent', N'retrying', N'dead_lettered')),
  attempts            INT            NOT NULL CONSTRAINT df_alert_deliveries_attempts DEFAULT 0,
  last_error          NVARCHAR(4000) NULL,
  provider_message_id NVARCHAR(256)  NULL,
  updated_at          DATETIME2(3)   NOT NULL CONSTRAINT df_alert_deliveries_updated_at DEFAULT SYSUTCDATETIME(),
  CONSTRAINT fk_alert_deliveries_transaction FOREIGN KEY (transaction_id)
    REFERENCES dbo.anomaly_transactions (transaction_id) ON DELETE CASCADE
);

CREATE TABLE dbo.batches (
  batch_id      NVARCHAR(128)  NOT NULL CONSTRAINT pk_batches PRIMARY KEY,
  kind          NVARCHAR(32)   NOT NULL,
  source        NVARCHAR(2048) NOT NULL,
  status        NVARCHAR(32)   NOT NULL,
  rows_total    BIGINT         NOT NULL CONSTRAINT df_batches_rows_total DEFAULT 0,
  rows_ok       BIGINT         NOT NULL CONSTRAINT df_batches_rows_ok DEFAULT 0,
  rows_rejected BIGINT         NOT NULL CONSTRAINT df_batches_rows_rejected DEFAULT 0,
  error         NVARCHAR(MAX)  NULL,
  created_at    DATETIME2(3)   NOT NULL CONSTRAINT df_batches_created_at DEFAULT SYSUTCDATETIME(),
  updated_at    DATETIME2(3)   NOT NULL CONSTRAINT df_batches_updated_at DEFAULT SYSUTCDATETIME()
);

CREATE TABLE dbo.models (
  id           BIGINT IDENTITY(1, 1) NOT NULL CONSTRAINT pk_models PRIMARY KEY,
  tenant       NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
  run_id       NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
  kind         NVARCHAR(64)  NOT NULL,
  params       NVARCHAR(MAX) NOT NULL CONSTRAINT df_models_params DEFAULT N'{}',
  state        NVARCHAR(MAX) NOT NULL CONSTRAINT df_models_state DEFAULT N'{}',
  trained_rows BIGINT        NOT NULL CONSTRAINT df_models_trained_rows DEFAULT 0,
  dims         INT           NOT NULL CONSTRAINT df_models_dims DEFAULT 0,
  trained_at   DATETIME2(3)  NOT NULL CONSTRAINT df_models_trained_at DEFAULT SYSUTCDATETIME(),
  CONSTRAINT ux_models_tenant_run UNIQUE (tenant, run_id),
  CONSTRAINT ck_models_params_json CHECK (ISJSON(params) = 1),
  CONSTRAINT ck_models_state_json CHECK (ISJSON(state) = 1)
);
