-- Argus schema, Azure SQL / SQL Server dialect. Batches are separated by GO lines; the migrator runs
-- them in order inside one transaction. Timestamps are UTC.
--
-- anomaly_stats and anomaly_transactions may already exist: they are the finance tracker's tables. Then
-- this migration keeps their rows and column names and adds what Argus needs (m2, transaction_id, ...).
-- Ids (transaction_id, tenant, run_id) compare by binary collation, as SQLite does: on Azure SQL's default,
-- case-insensitive collation `T-1` and `t-1` would be one transaction.

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
