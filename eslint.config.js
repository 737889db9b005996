import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/**
 * The folder layout is the architecture, and these rules keep it so:
 * - `lib/core` (rooms, connections, protocol, storage seam and FileStore) imports nothing outside
 *   itself but `lib/util`: it defines the seams (`RoomReplicator`, `DocumentStore`) that others plug into.
 * - `lib/cluster/replication` (the backend-neutral cluster engine) builds on the core only; the
 *   adapters in `lib/cluster/adapters` (Redis, DynamoDB, S3) implement its interfaces, and only the
 *   cluster's wiring (`environment.ts`, `index.ts`) picks them.
 * - `lib/dashboard` reads the core; `lib/util` holds small helpers and depends on nothing but errors.
 * - `client/` and `dashboard-ui/` are browser code and never import server code at run time.
 */
const restrict = (...patterns) => ['error', { patterns: patterns.map(({ group, message }) => ({ group, message })) }];
const outsideCore = {
  group: ['**/cluster/**', '**/dashboard/**', '**/integrations/**', '**/client/**', '../index.js', '../../index.js'],
  message: 'lib/core must not depend on cluster, dashboard or integration code: define a seam in lib/core instead.',
};
const adapters = { group: ['**/cluster/adapters/**'], message: 'Only the cluster wiring (lib/cluster/environment.ts, index.ts) may pick an adapter.' };

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'cdk.out/', '**/build/', 'test-output/', 'bench/output/', '.symphony-data/', 'docs/api/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      'no-console': ['error', { allow: ['warn', 'error'] }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['lib/**/*.ts', 'integrations/**/*.ts', 'client/**/*.ts', 'dashboard-ui/**/*.ts', 'infra/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      ...importX.flatConfigs.typescript.settings,
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  { files: ['lib/core/**/*.ts'], rules: { 'no-restricted-imports': restrict(outsideCore) } },
  { files: ['lib/util/**/*.ts'], rules: { 'no-restricted-imports': restrict({ group: ['**/core/!(errors).js', '**/cluster/**', '**/dashboard/**'], message: 'lib/util holds leaf helpers: it may import only core/errors.' }) } },
  { files: ['lib/cluster/replication/**/*.ts', 'lib/dashboard/**/*.ts'], rules: { 'no-restricted-imports': restrict(adapters) } },
  {
    files: ['lib/dashboard/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(
        adapters,
        { group: ['**/cluster/**'], message: 'The dashboard reads cluster state through the core seam (RoomReplicator.describeCluster).' },
        { group: ['esbuild', '**/dashboard-ui/**'], message: 'The dashboard serves the page `npm run build` made: nothing is built at run time.' },
      ),
    },
  },
  {
    files: ['client/**/*.ts', 'dashboard-ui/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '(^|/)lib/(?!core/protocol/close-codes\\.js$|.*wire-types\\.js$)', message: 'Browser code imports server code only for shared wire types and close codes.' }] },
      ],
    },
  },
  {
    files: ['test/**', 'bench/**', 'loadtest/**', 'examples/**', 'infra/**', '**/*.cjs'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', process: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
