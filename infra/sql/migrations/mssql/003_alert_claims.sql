-- Lease-based claims on alert deliveries, so dispatcher replicas holding copies of one alert message
-- send at most one email: claimed_by holds the lease until claimed_until (UTC, from SYSUTCDATETIME()
-- on the server, never a client's clock). A claim made before any attempt leaves the row 'pending'.

ALTER TABLE dbo.alert_deliveries ADD
  claimed_by    NVARCHAR(256) NULL,
  claimed_until DATETIME2(3)  NULL;
GO

ALTER TABLE dbo.alert_deliveries DROP CONSTRAINT ck_alert_deliveries_status;
ALTER TABLE dbo.alert_deliveries WITH CHECK ADD CONSTRAINT ck_alert_deliveries_status
  CHECK (status IN (N'pending', N'sent', N'retrying', N'dead_lettered'));
ALTER TABLE dbo.alert_deliveries WITH CHECK ADD CONSTRAINT ck_alert_deliveries_claim
  CHECK ((claimed_by IS NULL AND claimed_until IS NULL) OR (claimed_by IS NOT NULL AND claimed_until IS NOT NULL));
