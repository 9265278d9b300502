/**
 * Prints one plain closing line ("tests: N passed, N failed, N skipped") after mocha's own summary,
 * so CI can read the outcome without knowing mocha's reporter.
 */
let passed = 0;
let failed = 0;
let skipped = 0;

export const mochaHooks = {
  afterEach(this: Mocha.Context) {
    const state = this.currentTest?.state;
    if (state === 'passed') passed++;
    else if (state === 'failed') failed++;
    else skipped++;
  },
};

export function mochaGlobalTeardown(): void {
  process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
}
