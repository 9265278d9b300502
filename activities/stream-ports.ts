/** Streaming time-series detection: where each series' detector state lives between calls. */

export interface StreamStateWrite {
  seriesId: string;
  /** The detector's state as bytes (detection/timeseries/streaming.ts encodeStreamState). */
  state: Uint8Array;
  pointsSeen: number;
  /** Epoch ms of the newest accepted point, or null (fed without timestamps). */
  lastTimestamp: number | null;
}

export interface StoredStreamState extends StreamStateWrite {
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface StreamStateStore {
  migrate(): Promise<void>;
  getStreamState(seriesId: string): Promise<StoredStreamState | null>;
  /**
   * Writes the state if the stored version still is `expectedVersion` (null: only if the series has
   * none), setting version to expectedVersion + 1 (or 1). Returns false, writing nothing, when another
   * write got there first; the caller re-reads and steps again.
   */
  saveStreamState(write: StreamStateWrite, expectedVersion: number | null): Promise<boolean>;
  /** Forgets the series (its next point starts a new state). Returns whether it existed. */
  deleteStreamState(seriesId: string): Promise<boolean>;
  close(): Promise<void>;
}
