import { strict as assert } from 'node:assert';
import { Random } from '../../detection/random';
import { argsortFloat64 } from '../../detection/sort';

describe('radix argsort of float64', () => {
  it('orders negatives, zeros, subnormals, huge and tied values as a numeric sort does, ties stable', () => {
    const random = new Random(7);
    const special = [-0, 0, 5e-324, -5e-324, 1.7976931348623157e308, -1.7976931348623157e308, 1, -1, 1, 1, -2.5, 2.5];
    const values = Float64Array.from([...special, ...Array.from({ length: 5000 }, () => (random.nextFloat() - 0.5) * 10 ** (random.nextInt(40) - 20))]);
    const order = argsortFloat64(values);
    const expected = Array.from(values.keys()).sort((a, b) => values[a] - values[b] || (Object.is(values[a], -0) && values[b] === 0 ? -1 : 0) || a - b);
    assert.deepEqual(Array.from(order, (i) => values[i]), expected.map((i) => values[i]));
    // Stability: equal values keep their input order.
    const ones = Array.from(order).filter((i) => values[i] === 1);
    assert.deepEqual(ones, [...ones].sort((a, b) => a - b));
  });

  it('handles empty and single-element input', () => {
    assert.deepEqual(Array.from(argsortFloat64(new Float64Array(0))), []);
    assert.deepEqual(Array.from(argsortFloat64(Float64Array.of(3))), [0]);
  });
});
