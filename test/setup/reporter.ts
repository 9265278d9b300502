import Mocha from 'mocha';

/**
 * Mocha's spec output, then one plain closing line ("tests: N passed, N failed, N skipped") that CI
 * can read without knowing mocha.
 */
class ArgusReporter extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const stats = runner.stats;
      process.stdout.write(`\ntests: ${stats?.passes ?? 0} passed, ${stats?.failures ?? 0} failed, ${stats?.pending ?? 0} skipped\n`);
    });
  }
}

export = ArgusReporter;
