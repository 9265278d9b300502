-- Streaming time-series detection: one row per series, its detector state (a little-endian float64
-- array, detection/timeseries/streaming.ts) and a version for compare-and-swap writes.

IF OBJECT_ID(N'dbo.timeseries_streams', N'U') IS NULL
BEGIN
  CREATE TABLE dbo.timeseries_streams (
    series_id      NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NOT NULL,
    state          VARBINARY(MAX) NOT NULL,
    version        INT    NOT NULL,
    points_seen    BIGINT NOT NULL,
    -- epoch milliseconds of the newest accepted point; NULL when the series is fed without timestamps
    last_timestamp FLOAT  NULL,
    created_at     DATETIME2(3) NOT NULL CONSTRAINT df_timeseries_streams_created_at DEFAULT SYSUTCDATETIME(),
    updated_at     DATETIME2(3) NOT NULL CONSTRAINT df_timeseries_streams_updated_at DEFAULT SYSUTCDATETIME(),
    CONSTRAINT pk_timeseries_streams PRIMARY KEY (series_id),
    CONSTRAINT ck_timeseries_streams_version CHECK (version >= 1),
    CONSTRAINT ck_timeseries_streams_points CHECK (points_seen >= 0)
  );
END;
GO
