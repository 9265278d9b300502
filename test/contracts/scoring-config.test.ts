import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../infra/config';

describe('spending score configuration (ARGUS_SCORING_METHOD, ARGUS_COLD_START, ARGUS_ROBUST_WINDOW)', function () {
  it("keeps the seed's rule by default: zscore, no cold start, a window of 64", function () {
    const { scoring } = loadConfig({});
    assert.equal(scoring.method, 'zscore');
    assert.equal(scoring.coldStart, false);
    assert.equal(scoring.windowSize, 64);
  });

  it('reads the deployment setting', function () {
    const { scoring } = loadConfig({ ARGUS_SCORING_METHOD: 'log-z', ARGUS_COLD_START: 'true', ARGUS_ROBUST_WINDOW: '32' });
    assert.deepEqual([scoring.method, scoring.coldStart, scoring.windowSize], ['log-z', true, 32]);
    assert.equal(loadConfig({ ARGUS_COLD_START: '0' }).scoring.coldStart, false);
  });

  it('refuses an unknown method, a cold start that is not a boolean and a window below the minimum samples, naming the variable', function () {
    for (const [name, value] of [
      ['ARGUS_SCORING_METHOD', 'median'],
      ['ARGUS_COLD_START', 'yes'],
      ['ARGUS_ROBUST_WINDOW', '4'],
    ]) {
      assert.throws(() => loadConfig({ [name]: value }), (err: unknown) => err instanceof ConfigError && err.message.includes(name));
    }
  });
});
