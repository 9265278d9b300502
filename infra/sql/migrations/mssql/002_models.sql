-- Model lifecycle: what fit / update / detect need beyond 001's models table.

ALTER TABLE dbo.models ADD
  threshold         FLOAT         NULL,
  version           INT           NOT NULL CONSTRAINT df_models_version DEFAULT 1,
  -- Raw training rows of detector kinds (JSON array of rows), kept up to a cap so update can refit.
  training_data     NVARCHAR(MAX) NULL,
  -- The latest write ids (JSON array), so a retried fit or update is not applied twice.
  recent_operations NVARCHAR(MAX) NOT NULL CONSTRAINT df_models_recent_operations DEFAULT N'[]',
  created_at        DATETIME2(3)  NOT NULL CONSTRAINT df_models_created_at DEFAULT SYSUTCDATETIME();
GO

ALTER TABLE dbo.models ADD CONSTRAINT ck_models_version CHECK (version >= 1);
ALTER TABLE dbo.models ADD CONSTRAINT ck_models_training_data_json CHECK (training_data IS NULL OR ISJSON(training_data) = 1);
ALTER TABLE dbo.models ADD CONSTRAINT ck_models_recent_operations_json CHECK (ISJSON(recent_operations) = 1);
GO

-- Tracked detections, one row per scored data row. result_id is '<detection id>:<row>', so a retried
-- detection inserts nothing twice; seq orders them and keys the pages.
CREATE TABLE dbo.model_results (
  seq           BIGINT IDENTITY(1, 1) NOT NULL CONSTRAINT pk_model_results PRIMARY KEY,
  tenant        NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
  run_id        NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
  result_id     NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NOT NULL,
  detection_id  NVARCHAR(160) NOT NULL,
  row_index     INT           NOT NULL CONSTRAINT ck_model_results_row_index CHECK (row_index >= 0),
  input         NVARCHAR(MAX) NOT NULL,
  scores        NVARCHAR(MAX) NOT NULL,
  is_anomaly    BIT           NOT NULL,
  model_version INT           NOT NULL,
  created_at    DATETIME2(3)  NOT NULL CONSTRAINT df_model_results_created_at DEFAULT SYSUTCDATETIME(),
  CONSTRAINT ux_model_results_result UNIQUE (tenant, run_id, result_id),
  CONSTRAINT fk_model_results_model FOREIGN KEY (tenant, run_id)
    REFERENCES dbo.models (tenant, run_id) ON DELETE CASCADE,
  CONSTRAINT ck_model_results_input_json CHECK (ISJSON(input) = 1),
  CONSTRAINT ck_model_results_scores_json CHECK (ISJSON(scores) = 1)
);

CREATE INDEX ix_model_results_model ON dbo.model_results (tenant, run_id, seq);
