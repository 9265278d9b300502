-- Scoring real spending: the baselines the log-amount and robust (median / MAD) methods need, per
-- (user, category) and per category over all users (cold start), and the per-user / per-category
-- choice of method. Every baseline is folded in the same database transaction as anomaly_stats.

-- The log summary (Welford over ln(amount) of the positive amounts) and the window of the last K
-- non-anomalous amounts (comma-separated as JavaScript prints them, oldest first).
IF COL_LENGTH(N'dbo.anomaly_stats', N'log_count') IS NULL
  ALTER TABLE dbo.anomaly_stats ADD
    log_count      INT           NOT NULL CONSTRAINT df_anomaly_stats_log_count DEFAULT 0,
    log_mean       FLOAT         NOT NULL CONSTRAINT df_anomaly_stats_log_mean DEFAULT 0,
    log_m2         FLOAT         NOT NULL CONSTRAINT df_anomaly_stats_log_m2 DEFAULT 0,
    recent_amounts NVARCHAR(MAX) NOT NULL CONSTRAINT df_anomaly_stats_recent_amounts DEFAULT N'',
    recent_count   INT           NOT NULL CONSTRAINT df_anomaly_stats_recent_count DEFAULT 0;
GO

-- The same baselines for a whole category (every user): what cold start scores a new pair against.
IF OBJECT_ID(N'dbo.anomaly_category_stats', N'U') IS NULL
  CREATE TABLE dbo.anomaly_category_stats (
    category_id    BIGINT        NOT NULL CONSTRAINT pk_anomaly_category_stats PRIMARY KEY,
    mean           FLOAT         NOT NULL,
    std_dev        FLOAT         NOT NULL,
    sample_count   INT           NOT NULL,
    m2             FLOAT         NOT NULL CONSTRAINT df_anomaly_category_stats_m2 DEFAULT 0,
    log_count      INT           NOT NULL CONSTRAINT df_anomaly_category_stats_log_count DEFAULT 0,
    log_mean       FLOAT         NOT NULL CONSTRAINT df_anomaly_category_stats_log_mean DEFAULT 0,
    log_m2         FLOAT         NOT NULL CONSTRAINT df_anomaly_category_stats_log_m2 DEFAULT 0,
    recent_amounts NVARCHAR(MAX) NOT NULL CONSTRAINT df_anomaly_category_stats_recent_amounts DEFAULT N'',
    recent_count   INT           NOT NULL CONSTRAINT df_anomaly_category_stats_recent_count DEFAULT 0,
    updated_at     DATETIME2(3)  NOT NULL CONSTRAINT df_anomaly_category_stats_updated_at DEFAULT SYSUTCDATETIME()
  );
GO

-- A batch that fails for good puts these back too.
IF COL_LENGTH(N'dbo.batch_baseline_backups', N'log_count') IS NULL
  ALTER TABLE dbo.batch_baseline_backups ADD
    log_count      INT           NULL,
    log_mean       FLOAT         NULL,
    log_m2         FLOAT         NULL,
    recent_amounts NVARCHAR(MAX) NULL,
    recent_count   INT           NULL;
GO

IF OBJECT_ID(N'dbo.batch_category_backups', N'U') IS NULL
  CREATE TABLE dbo.batch_category_backups (
    batch_id       NVARCHAR(128) NOT NULL,
    category_id    BIGINT        NOT NULL,
    existed        BIT           NOT NULL,
    mean           FLOAT         NULL,
    std_dev        FLOAT         NULL,
    sample_count   INT           NULL,
    m2             FLOAT         NULL,
    log_count      INT           NULL,
    log_mean       FLOAT         NULL,
    log_m2         FLOAT         NULL,
    recent_amounts NVARCHAR(MAX) NULL,
    recent_count   INT           NULL,
    CONSTRAINT pk_batch_category_backups PRIMARY KEY (batch_id, category_id)
  );
GO

-- Which method scores a user, a category or one (user, category), and whether cold start is on; NULL in
-- a column: the wider scope (or the deployment's setting) decides it. Scopes as in anomaly_thresholds.
IF OBJECT_ID(N'dbo.anomaly_scoring_settings', N'U') IS NULL
BEGIN
  CREATE TABLE dbo.anomaly_scoring_settings (
    id          INT IDENTITY(1, 1) NOT NULL CONSTRAINT pk_anomaly_scoring_settings PRIMARY KEY,
    user_id     BIGINT       NULL,
    category_id BIGINT       NULL,
    method      NVARCHAR(16) NULL CONSTRAINT ck_anomaly_scoring_settings_method CHECK (method IN (N'zscore', N'log-z', N'robust-z')),
    cold_start  BIT          NULL,
    created_at  DATETIME2(3) NOT NULL CONSTRAINT df_anomaly_scoring_settings_created_at DEFAULT SYSUTCDATETIME(),
    updated_at  DATETIME2(3) NOT NULL CONSTRAINT df_anomaly_scoring_settings_updated_at DEFAULT SYSUTCDATETIME(),
    CONSTRAINT ck_anomaly_scoring_settings_scope CHECK (user_id IS NOT NULL OR category_id IS NOT NULL),
    CONSTRAINT ck_anomaly_scoring_settings_setting CHECK (method IS NOT NULL OR cold_start IS NOT NULL)
  );
  CREATE UNIQUE INDEX ux_anomaly_scoring_settings_user_category ON dbo.anomaly_scoring_settings (user_id, category_id)
    WHERE user_id IS NOT NULL AND category_id IS NOT NULL;
  CREATE UNIQUE INDEX ux_anomaly_scoring_settings_user ON dbo.anomaly_scoring_settings (user_id)
    WHERE user_id IS NOT NULL AND category_id IS NULL;
  CREATE UNIQUE INDEX ux_anomaly_scoring_settings_category ON dbo.anomaly_scoring_settings (category_id)
    WHERE user_id IS NULL AND category_id IS NOT NULL;
END;
GO
