import fs from 'node:fs';
import type { ArgusConfig } from './config';

/** Connection options shared by the client and the worker: local dev server, or Temporal Cloud with an API key or mTLS. */
export function temporalConnectionOptions(temporal: ArgusConfig['temporal']) {
  const tls = temporal.tls
    ? { clientCertPair: { crt: fs.readFileSync(temporal.tls.certPath), key: fs.readFileSync(temporal.tls.keyPath) } }
    : temporal.apiKey
      ? true
      : undefined;
  return { address: temporal.address, tls, apiKey: temporal.apiKey };
}
