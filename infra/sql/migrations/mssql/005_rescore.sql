-- Re-scoring: the baselines a run computed from a window of stored transactions, and every row's new
-- score with the run that produced it (the row's first score in anomaly_transactions never changes).

IF OBJECT_ID(N'dbo.rescore_baselines', N'U') IS NULL
BEGIN
  CREATE TABLE dbo.rescore_baselines (
    run_key      NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NOT NULL,
    user_id      BIGINT NOT NULL,
    category_id  BIGINT NOT NULL,
    mean         FLOAT  NOT NULL,
    std_dev      FLOAT  NOT NULL,
    sample_count INT    NOT NULL,
    m2           FLOAT  NOT NULL,
    CONSTRAINT pk_rescore_baselines PRIMARY KEY (run_key, user_id, category_id)
  );
END;
GO

IF OBJECT_ID(N'dbo.transaction_rescores', N'U') IS NULL
BEGIN
  CREATE TABLE dbo.transaction_rescores (
    transaction_id   NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
    run_key          NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NOT NULL,
    z_score          FLOAT NULL,
    is_anomaly       BIT   NOT NULL,
    newly_anomalous  BIT   NOT NULL,
    baseline_mean    FLOAT NULL,
    baseline_std_dev FLOAT NULL,
    baseline_count   INT   NULL,
    created_at       DATETIME2(3) NOT NULL CONSTRAINT df_transaction_rescores_created_at DEFAULT SYSUTCDATETIME(),
    CONSTRAINT pk_transaction_rescores PRIMARY KEY (transaction_id, run_key)
  );
  CREATE INDEX ix_transaction_rescores_run ON dbo.transaction_rescores (run_key, newly_anomalous);
END;
GO
