import type {
  AlertDelivery,
  AlertStatus,
  BatchFileKind,
  BatchMode,
  BatchRecord,
  BatchStatus,
  ChunkLedgerEntry,
  ModelRecord,
  StoredModelResult,
  StoredSeriesPoint,
  StoredTransaction,
} from '../../activities/ports';

/**
 * Rows as either driver returns them, and their mapping to the ports' records. SQLite gives ISO-8601
 * text and 0/1 integers; tedious (mssql) gives Dates, BITs as booleans and BIGINTs as strings.
 */

type Timestamp = string | Date;

function iso(value: Timestamp): string {
  return value instanceof Date ? value.toISOString() : value;
}

function isoOrNull(value: Timestamp | null): string | null {
  return value === null ? null : iso(value);
}

/** The columns a TransactionRow is read from, in both dialects. */
export const TRANSACTION_COLUMNS = `transaction_id, user_id, category_id, amount, occurred_at, z_score, is_anomaly,
  detector, batch_id, alert_status, created_at`;

/** A column list with each column qualified by a table alias (`t.transaction_id, t.user_id, …`). */
export function qualified(columns: string, alias: string): string {
  return columns
    .split(',')
    .map((column) => `${alias}.${column.trim()}`)
    .join(', ');
}

/** The columns a DeliveryRow is read from, in both dialects. */
export const DELIVERY_COLUMNS = `transaction_id, status, attempts, last_error, provider_message_id, updated_at, claimed_by, claimed_until`;

export interface TransactionRow {
  transaction_id: string;
  user_id: number | string;
  category_id: number | string;
  amount: number;
  occurred_at: Timestamp | null;
  z_score: number | null;
  is_anomaly: number | boolean | null;
  detector: string;
  batch_id: string | null;
  alert_status: AlertStatus;
  created_at: Timestamp | null;
}

export interface DeliveryRow {
  transaction_id: string;
  status: AlertDelivery['status'];
  attempts: number;
  last_error: string | null;
  provider_message_id: string | null;
  updated_at: Timestamp;
  claimed_by: string | null;
  claimed_until: Timestamp | null;
}

export interface ModelRow {
  tenant: string;
  run_id: string;
  kind: string;
  params: string;
  threshold: number | null;
  trained_rows: number | string;
  dims: number;
  trained_at: Timestamp;
  created_at: Timestamp;
  version: number;
  recent_operations: string;
  has_training_data: number | boolean;
  state?: string | null;
  training_data?: string | null;
}

export interface ResultRow {
  seq: number | string;
  result_id: string;
  detection_id: string;
  row_index: number;
  input: string;
  scores: string;
  is_anomaly: number | boolean;
  model_version: number;
  created_at: Timestamp;
}

export function toStoredTransaction(row: TransactionRow): StoredTransaction {
  return {
    transactionId: row.transaction_id,
    userId: Number(row.user_id),
    categoryId: Number(row.category_id),
    amount: row.amount,
    occurredAt: isoOrNull(row.occurred_at),
    zScore: row.z_score,
    isAnomaly: Boolean(row.is_anomaly),
    detector: row.detector,
    batchId: row.batch_id,
    alertStatus: row.alert_status,
    createdAt: isoOrNull(row.created_at) ?? new Date(0).toISOString(),
  };
}

export function toDelivery(row: DeliveryRow): AlertDelivery {
  return {
    transactionId: row.transaction_id,
    status: row.status,
    attempts: row.attempts,
    lastError: row.last_error,
    providerMessageId: row.provider_message_id,
    updatedAt: iso(row.updated_at),
    claimedBy: row.claimed_by,
    claimedUntil: isoOrNull(row.claimed_until),
  };
}

export function toModelRecord(row: ModelRow, load: { state?: boolean; trainingData?: boolean }): ModelRecord {
  const record: ModelRecord = {
    tenant: row.tenant,
    runId: row.run_id,
    kind: row.kind,
    params: JSON.parse(row.params),
    threshold: row.threshold,
    trainedRows: Number(row.trained_rows),
    dims: row.dims,
    trainedAt: iso(row.trained_at),
    createdAt: iso(row.created_at),
    version: row.version,
    hasTrainingData: Boolean(row.has_training_data),
    recentOperations: JSON.parse(row.recent_operations) as string[],
  };
  if (load.state) record.state = row.state === null || row.state === undefined ? null : JSON.parse(row.state);
  if (load.trainingData) record.trainingData = row.training_data ? (JSON.parse(row.training_data) as number[][]) : null;
  return record;
}

export function toStoredResult(row: ResultRow): StoredModelResult {
  return {
    seq: Number(row.seq),
    id: row.result_id,
    detectionId: row.detection_id,
    row: row.row_index,
    input: JSON.parse(row.input) as number[],
    scores: JSON.parse(row.scores),
    isAnomaly: Boolean(row.is_anomaly),
    modelVersion: row.model_version,
    createdAt: iso(row.created_at),
  };
}

/** The columns a BatchRow is read from, in both dialects. */
export const BATCH_COLUMNS = `batch_id, file_kind, mode, source, file_name, content_sha256, status, error, bytes_total, bytes_done,
  chunks_done, rows_total, rows_ok, rows_scored, rows_rejected, rows_duplicate, anomalies, options, result,
  created_at, updated_at, finished_at`;

export interface BatchRow {
  batch_id: string;
  file_kind: BatchFileKind;
  mode: BatchMode;
  source: string;
  file_name: string | null;
  content_sha256: string | null;
  status: BatchStatus;
  error: string | null;
  bytes_total: number | string;
  bytes_done: number | string;
  chunks_done: number;
  rows_total: number | string;
  rows_ok: number | string;
  rows_scored: number | string;
  rows_rejected: number | string;
  rows_duplicate: number | string;
  anomalies: number | string;
  options: string;
  result: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  finished_at: Timestamp | null;
}

export function toBatchRecord(row: BatchRow): BatchRecord {
  return {
    batchId: row.batch_id,
    fileKind: row.file_kind,
    mode: row.mode,
    source: row.source,
    fileName: row.file_name ?? '',
    contentSha256: row.content_sha256 ?? '',
    status: row.status,
    error: row.error,
    bytesTotal: Number(row.bytes_total),
    bytesDone: Number(row.bytes_done),
    chunksDone: row.chunks_done,
    rowsRead: Number(row.rows_total),
    rowsOk: Number(row.rows_ok),
    rowsScored: Number(row.rows_scored),
    rowsRejected: Number(row.rows_rejected),
    rowsDuplicate: Number(row.rows_duplicate),
    anomalies: Number(row.anomalies),
    options: JSON.parse(row.options),
    result: row.result === null ? null : JSON.parse(row.result),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    finishedAt: isoOrNull(row.finished_at),
  };
}

export const CHUNK_COLUMNS = `chunk_no, start_offset, end_offset, end_line, rows_read, rows_ok, rows_scored, rows_rejected, rows_duplicate, anomalies`;

export interface ChunkRow {
  chunk_no: number;
  start_offset: number | string;
  end_offset: number | string;
  end_line: number | string;
  rows_read: number;
  rows_ok: number;
  rows_scored: number;
  rows_rejected: number;
  rows_duplicate: number;
  anomalies: number;
}

export function toChunkLedgerEntry(row: ChunkRow): ChunkLedgerEntry {
  return {
    chunkNo: row.chunk_no,
    startOffset: Number(row.start_offset),
    endOffset: Number(row.end_offset),
    endLine: Number(row.end_line),
    rowsRead: row.rows_read,
    rowsOk: row.rows_ok,
    rowsScored: row.rows_scored,
    rowsRejected: row.rows_rejected,
    rowsDuplicate: row.rows_duplicate,
    anomalies: row.anomalies,
  };
}

export const SERIES_POINT_COLUMNS = `series_id, batch_id, ts, value, expected, upper_margin, lower_margin, is_anomaly, is_positive, is_negative,
  severity, period, line`;

export interface SeriesPointRow {
  series_id: string;
  batch_id: string;
  ts: Timestamp;
  value: number;
  expected: number;
  upper_margin: number;
  lower_margin: number;
  is_anomaly: number | boolean;
  is_positive: number | boolean;
  is_negative: number | boolean;
  severity: number;
  period: number;
  line: number | string;
}

export function toStoredSeriesPoint(row: SeriesPointRow): StoredSeriesPoint {
  return {
    seriesId: row.series_id,
    batchId: row.batch_id,
    timestamp: iso(row.ts),
    value: row.value,
    expected: row.expected,
    upperMargin: row.upper_margin,
    lowerMargin: row.lower_margin,
    isAnomaly: Boolean(row.is_anomaly),
    isPositiveAnomaly: Boolean(row.is_positive),
    isNegativeAnomaly: Boolean(row.is_negative),
    severity: row.severity,
    period: row.period,
    line: Number(row.line),
  };
}
