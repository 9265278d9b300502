// ESLint (flat config) with the Temporal TypeScript samples' rules: ESLint's and typescript-eslint's
// recommended sets, type-aware no-floating-promises (an activity or workflow call not awaited is a bug), and
// no Node built-in in workflows/ (they run in the SDK's deterministic sandbox). `npm run lint`; `npm test` runs it.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Every Node built-in, bare and with the node: prefix (the samples allow `assert`; Argus's workflows need none). */
const nodeBuiltins = [...new Set(builtinModules.map((name) => name.replace(/^node:/, '')))].flatMap((name) => [name, `node:${name}`]);

/** The folders tsconfig.json type-checks, and the dashboard's browser code (typed by dashboard/tsconfig.json). */
const SOURCES = [...['activities', 'client', 'contracts', 'detection', 'infra', 'test', 'workers', 'workflows'].map((dir) => `${dir}/**/*.ts`), 'dashboard/src/**/*.{ts,tsx}'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'deploy/**', '**/*.d.ts', '.build-test-*/**'] },
  {
    files: SOURCES,
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // recommended for safety (the samples' first rule)
      '@typescript-eslint/no-floating-promises': 'error',
      // code style preference
      'object-shorthand': ['error', 'always'],
      // relaxed rules, for convenience (as in the samples)
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'off',
      // Expected CLI output is written as it is printed, its column gaps included.
      'no-regex-spaces': 'off',
    },
  },
  {
    // Configuration comes only through infra/config.ts (validated once, every problem listed); tests build their own environments.
    files: SOURCES,
    ignores: ['infra/config.ts', 'test/**'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'read configuration through infra/config.ts' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', ...nodeBuiltins],
    },
  },
  {
    // The detection core is pure TypeScript: no I/O (no Node built-in) and no Temporal, so it runs anywhere, workflows included.
    files: ['detection/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: nodeBuiltins, patterns: [{ group: ['@temporalio/*'], message: 'detection/ is pure: Temporal belongs in activities/ and workflows/' }] },
      ],
    },
  },
);
