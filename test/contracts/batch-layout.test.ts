import assert from 'node:assert/strict';
import { detectLayout, parseBatchOptions } from '../../contracts/batch';

describe('a batch file\'s layout', () => {
  it('finds the first data row by its byte offset, even when the header is not UTF-8 (Windows-1252 "Betr\\xe4g")', () => {
    const header = Buffer.concat([Buffer.from('user_id;category_id;Betr', 'latin1'), Buffer.from([0xe4]), Buffer.from('g\r\n', 'latin1')]);
    const head = Buffer.concat([header, Buffer.from('12345;7;12,5\r\n')]);
    const layout = detectLayout(head, parseBatchOptions({ columns: { amount: 'Betr\ufffdg' } }), true);
    assert.equal(layout.dataOffset, header.length, 'the offset counts the header\'s bytes, not its decoded characters');
    assert.equal(head.subarray(layout.dataOffset).toString(), '12345;7;12,5\r\n');
    assert.equal(layout.firstDataLine, 2);
    assert.equal(layout.delimiter, ';');
  });

  it('skips a UTF-8 BOM and blank lines before the header', () => {
    const head = Buffer.from('\ufeff\r\nuser_id,category_id,amount\n1,2,3\n');
    const layout = detectLayout(head, parseBatchOptions({}), true);
    assert.equal(head.subarray(layout.dataOffset).toString(), '1,2,3\n');
    assert.equal(layout.firstDataLine, 3);
  });
});
