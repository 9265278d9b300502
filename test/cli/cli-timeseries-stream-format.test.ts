import assert from 'node:assert/strict';
import { formatStreamResult } from '../../client/cli-timeseries-stream';
import type { StreamDetectResult, StreamVerdictResult } from '../../contracts/timeseries-stream';

const verdict = (timestamp: string, flags: Partial<StreamVerdictResult> = {}): StreamVerdictResult => ({
  timestamp,
  expectedValue: 10,
  upperMargin: 2,
  lowerMargin: 2,
  isAnomaly: false,
  isNegativeAnomaly: false,
  isPositiveAnomaly: false,
  severity: 0,
  isChangePoint: false,
  warmingUp: false,
  ignored: null,
  ...flags,
});

const result = (results: StreamVerdictResult[]): StreamDetectResult => ({ seriesId: 'cpu', period: 0, periodSource: 'none', pointsSeen: 40, results });

describe('argus timeseries stream: the text summary', () => {
  it('counts anomalies, not change points, and says "anomaly" for one', () => {
    // One flagged onset and the change point confirming it: 1 anomaly, 1 change point.
    const text = formatStreamResult(
      result([verdict('2024-01-01T00:00:00Z', { isAnomaly: true, isPositiveAnomaly: true, severity: 0.5 }), verdict('2024-01-01T00:01:00Z'), verdict('2024-01-01T00:02:00Z', { isChangePoint: true })]),
      [20, 20, 20],
    );
    assert.match(text.split('\n')[0], /^cpu: 3 point\(s\), 1 anomaly, 1 change point\(s\);/);
  });

  it('says "0 anomalies" when only a change point is reported', () => {
    const text = formatStreamResult(result([verdict('2024-01-01T00:00:00Z', { isChangePoint: true })]), [20]);
    assert.match(text.split('\n')[0], /^cpu: 1 point\(s\), 0 anomalies, 1 change point\(s\);/);
  });
});
