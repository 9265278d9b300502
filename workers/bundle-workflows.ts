import fs from 'node:fs';
import { bundleInThisProcess } from './create-worker';

/**
 * `bundle-workflows.ts OUT [FAILURE_CONVERTER_PATH]`: writes the workflow bundle to OUT (run by
 * bundleArgusWorkflows in a child process).
 */
bundleInThisProcess(process.argv[3]).then(
  (bundle) => fs.writeFileSync(process.argv[2], bundle.code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
