import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseFloat32Pickle, parseNpy } from '../bench/prepare-sets';

/**
 * The readers the bench-data preparation relies on, against files made by their reference writers:
 * .npy bytes laid out by hand from the NPY 1.0 format description, and pickles written by numpy itself
 * (skipped when python3 has no numpy).
 */

function npyBytes(descr: string, shape: number[], body: Buffer): Buffer {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  // The format pads the header with spaces to a multiple of 64 bytes (magic + version + length included), ending in \n.
  while ((10 + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const length = Buffer.alloc(2);
  length.writeUInt16LE(header.length);
  return Buffer.concat([Buffer.from('\x93NUMPY', 'latin1'), Buffer.from([1, 0]), length, Buffer.from(header, 'latin1'), body]);
}

describe('bench data readers (prepare-sets.ts)', () => {
  it('reads a float64 .npy matrix row-major, and a float32 one', () => {
    const planted = [1.5, -2, 3.25, 4e-9, 5, 6e10];
    const f8 = Buffer.alloc(8 * planted.length);
    planted.forEach((x, i) => f8.writeDoubleLE(x, 8 * i));
    const a = parseNpy(npyBytes('<f8', [3, 2], f8));
    assert.deepEqual(a.shape, [3, 2]);
    assert.deepEqual([...a.data], planted);

    const f4 = Buffer.alloc(4 * 3);
    [0.5, -1.25, 1024].forEach((x, i) => f4.writeFloatLE(x, 4 * i));
    const b = parseNpy(npyBytes('<f4', [3], f4));
    assert.deepEqual(b.shape, [3]);
    assert.deepEqual([...b.data], [0.5, -1.25, 1024]);
  });

  it('refuses what it cannot read: not .npy, big-endian, Fortran order', () => {
    assert.throws(() => parseNpy(Buffer.from('hello world, not numpy')), /not a \.npy file/);
    assert.throws(() => parseNpy(npyBytes('>f8', [1], Buffer.alloc(8))), /unsupported dtype >f8/);
    const fortran = npyBytes('<f8', [1], Buffer.alloc(8)).toString('latin1').replace("'fortran_order': False", "'fortran_order': True ");
    assert.throws(() => parseNpy(Buffer.from(fortran, 'latin1')), /Fortran/);
  });

  it('reads a float32 array pickled by numpy without unpickling it', function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-pickle-'));
    try {
      const file = path.join(dir, 'a.pkl');
      const labels = path.join(dir, 'labels.pkl');
      // 100 × 3 values k/8 (exact in float32); a 1-D label vector of 0/1; protocol 4, as the SMD pickles are.
      const script = [
        'import pickle, sys, numpy as np',
        'a = (np.arange(300, dtype=np.float32) / 8).reshape(100, 3)',
        'pickle.dump(a, open(sys.argv[1], "wb"), protocol=4)',
        'pickle.dump((np.arange(100) % 7 == 0).astype(np.float32), open(sys.argv[2], "wb"), protocol=4)',
      ].join('\n');
      const made = spawnSync('python3', ['-c', script, file, labels], { encoding: 'utf8' });
      if (made.status !== 0) this.skip(); // no python3 with numpy here
      const a = parseFloat32Pickle(fs.readFileSync(file), 3);
      assert.equal(a.rows, 100);
      assert.equal(a.data[0], 0);
      assert.equal(a.data[3 * 41 + 2], (3 * 41 + 2) / 8, 'row 41, column 2');
      assert.equal(a.data[299], 299 / 8);
      const l = parseFloat32Pickle(fs.readFileSync(labels), 1);
      assert.equal(l.rows, 100);
      assert.deepEqual([...l.data].flatMap((x, i) => (x ? [i] : [])), [0, 7, 14, 21, 28, 35, 42, 49, 56, 63, 70, 77, 84, 91, 98]);
      assert.throws(() => parseFloat32Pickle(fs.readFileSync(file), 7), /no float32 payload/, '300 values are not rows of 7');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
