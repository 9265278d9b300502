import assert from 'node:assert/strict';
import { fitGaussian, gaussianCovariance, gaussianMetrics, gaussianStd, mergeGaussian, normalPdf } from '../../detection/univariate/gaussian';
import { gaussianSource } from './synthetic-series';

function close(actual: number, expected: number, rel = 1e-10): void {
  assert.ok(Math.abs(actual - expected) <= rel * Math.abs(expected) + 1e-300, `${actual} vs ${expected}`);
}

describe('Gaussian probability metrics', () => {
  // Reference values from scipy 1.17.1: norm.pdf / multivariate_normal(mean, np.cov(X.T)).pdf/.logpdf.
  it('univariate density equals scipy.stats.norm.pdf', () => {
    close(normalPdf(2500, 2000, 500), 0.00048394144903828674);
    close(normalPdf(6000, 2000, 500), 1.0104542167073785e-17);
    close(normalPdf(-1.3, 0.2, 0.7), 0.05737297205843304);
  });

  const X = [[1, 2], [2, 3.5], [3, 3], [4, 6], [5, 5.5], [2.5, 1]];

  it('fits the sample mean and covariance (ddof = 1) as numpy does', () => {
    const m = fitGaussian(X);
    close(m.mean[0], 2.9166666666666665);
    close(m.mean[1], 3.5);
    const cov = gaussianCovariance(m);
    close(cov[0], 2.0416666666666665);
    close(cov[1], 2.15);
    close(cov[2], 2.15);
    close(cov[3], 3.8);
  });

  it('multivariate density equals scipy.stats.multivariate_normal', () => {
    const m = fitGaussian(X);
    close(gaussianMetrics([3, 4], m).multivariate!.density, 0.08489423588358551, 1e-9);
    close(gaussianMetrics([9, -2], m).multivariate!.logDensity, -57.61915269511573, 1e-9);
  });

  it('normalized probability is 1 at the mean and exp(-z²/2) away from it', () => {
    const m = fitGaussian(X);
    const atMean = gaussianMetrics([m.mean[0], m.mean[1]], m);
    close(atMean.normalizedProbability, 1);
    close(atMean.multivariate!.normalizedProbability, 1);
    const std = gaussianStd(m);
    const far = gaussianMetrics([m.mean[0] + 2 * std[0], m.mean[1]], m);
    close(far.zScores[0], 2);
    close(far.normalizedProbabilities[0], Math.exp(-2));
    close(far.densities[0] / normalPdf(m.mean[0], m.mean[0], std[0]), Math.exp(-2));
    close(far.density, far.densities[0] * far.densities[1]);
    assert.ok(gaussianMetrics([m.mean[0] + 6 * std[0], m.mean[1]], m).normalizedProbability < 1e-7);
  });

  it('merging two fitted halves equals fitting the whole (model update)', () => {
    const normal = gaussianSource(9);
    const rows = Array.from({ length: 301 }, () => [normal(), 3 * normal() + 100, normal() - 7]);
    const whole = fitGaussian(rows);
    const merged = mergeGaussian(fitGaussian(rows.slice(0, 120)), fitGaussian(rows.slice(120)));
    assert.equal(merged.count, whole.count);
    for (let i = 0; i < 3; i++) close(merged.mean[i], whole.mean[i], 1e-12);
    for (let i = 0; i < 9; i++) close(merged.comoment[i], whole.comoment[i], 1e-9);
  });

  it('collinear features still give a finite density; bad points are rejected', () => {
    const m = fitGaussian([[1, 2], [2, 4], [3, 6], [4, 8]]);
    assert.ok(Number.isFinite(gaussianMetrics([2.5, 5], m).multivariate!.logDensity));
    assert.throws(() => gaussianMetrics([1], m), /2 feature/);
    assert.throws(() => gaussianMetrics([1, Number.NaN], m), /feature 1 is not a finite number/);
  });
});
