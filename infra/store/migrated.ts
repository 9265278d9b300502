interface Migratable {
  migrate(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Migrates the schema the stores share (through the first of them); when that fails, closes every one
 * of them before rethrowing, so a failed start keeps no database handle open.
 */
export async function migrateOrClose(stores: Migratable[]): Promise<void> {
  try {
    await stores[0]?.migrate();
  } catch (err) {
    for (const store of stores) await store.close().catch(() => undefined);
    throw err;
  }
}
