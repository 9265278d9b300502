/**
 * Row-major dense matrices on Float64Array: the detection core's only data shape, so the hot loops
 * index one typed array instead of chasing nested JS arrays.
 */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
}

export type MatrixInput = Matrix | ArrayLike<ArrayLike<number>>;

/** Input a detector cannot take; `field` says where, as the wire names it (`data` unless set). */
export class DetectorInputError extends Error {
  override name = 'DetectorInputError';
  constructor(
    message: string,
    readonly field: string = 'data',
  ) {
    super(message);
  }
}

export function isMatrix(x: unknown): x is Matrix {
  return typeof x === 'object' && x !== null && (x as Matrix).data instanceof Float64Array && typeof (x as Matrix).rows === 'number';
}

/** Validates and converts input: non-empty, rectangular, finite. Errors name the row and column. */
export function toMatrix(input: MatrixInput, what = 'X'): Matrix {
  if (isMatrix(input)) {
    if (input.rows === 0 || input.cols === 0) throw new DetectorInputError(`${what} is empty`);
    if (input.data.length !== input.rows * input.cols) throw new DetectorInputError(`${what} data length does not match its shape`);
    for (let i = 0; i < input.data.length; i++) {
      if (!Number.isFinite(input.data[i])) {
        throw new DetectorInputError(`${what} row ${Math.floor(i / input.cols)}, column ${i % input.cols} is not a finite number`);
      }
    }
    return input;
  }
  const rows = input.length;
  if (!rows) throw new DetectorInputError(`${what} is empty`);
  const first = input[0];
  if (!first || typeof first.length !== 'number') throw new DetectorInputError(`${what} row 0 is not an array`);
  const cols = first.length;
  if (!cols) throw new DetectorInputError(`${what} row 0 has no columns`);
  const data = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const row = input[r];
    if (!row || row.length !== cols) {
      throw new DetectorInputError(`${what} is ragged: row ${r} has ${row ? row.length : 0} columns, row 0 has ${cols}`);
    }
    for (let c = 0; c < cols; c++) {
      const v = row[c];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new DetectorInputError(`${what} row ${r}, column ${c} ${describeCell(v)}`);
      }
      data[r * cols + c] = v;
    }
  }
  return { rows, cols, data };
}

/** Why a cell is not usable, in words: a string read from a file has to be converted first, which "(0.5)" alone does not say. */
export function describeCell(v: unknown): string {
  if (typeof v === 'string') {
    const shown = JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
    const numeric = v.trim() !== '' && Number.isFinite(Number(v));
    return `is the string ${shown}, not a number${numeric ? ': convert the column to numbers first (e.g. Number(cell) or parseFloat)' : ''}`;
  }
  if (typeof v === 'number') return `is not a finite number (${String(v)})`;
  if (v === null || v === undefined) return `is not a finite number (${v === null ? 'null' : 'missing'})`;
  return `is not a finite number (${Array.isArray(v) ? 'an array' : `a value of type ${typeof v}`})`;
}

export function fromRows(rows: ArrayLike<ArrayLike<number>>): Matrix {
  return toMatrix(rows);
}

/** A univariate series as a one-column matrix. */
export function column(values: ArrayLike<number>): Matrix {
  const data = Float64Array.from(values as ArrayLike<number>);
  return toMatrix({ rows: data.length, cols: 1, data }, 'series');
}
