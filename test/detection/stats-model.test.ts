import assert from 'node:assert/strict';
import { MahalanobisDetector } from '../../detection/mahalanobis';
import { Random } from '../../detection/random';
import { fitStats, scoreStats } from '../../detection/stats-model';

describe('stats model', () => {
  it('gives the Mahalanobis detector\'s distance on near-singular data (one ridge rule for both)', () => {
    const random = new Random(3);
    // The third column is the sum of the first two, up to 1e-9: the sample covariance is nearly singular.
    const X = Array.from({ length: 100 }, () => {
      const a = random.nextFloat() * 2;
      const b = random.nextFloat();
      return [a, b, a + b + (random.nextFloat() - 0.5) * 1e-9];
    });
    const probe = [
      [1, 0.5, 1.5],
      [1, 0.5, 1.6],
    ];
    const stats = scoreStats(fitStats(X), { rule: 'mahalanobis', zThreshold: 3, pValue: 0.001, minStdDev: 0 }, probe);
    const detector = new MahalanobisDetector().fit(X).score(probe);
    stats.forEach((row, i) => assert.ok(Math.abs(row.scores.mahalanobis_distance - detector[i]) <= 1e-9 * detector[i], `row ${i}`));
    assert.ok(stats[1].scores.mahalanobis_distance > 50, 'leaving the plane is far');
  });
});
