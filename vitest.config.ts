import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Tiers by file suffix: *.unit.test.ts (no I/O), *.int.test.ts (real NATS and Postgres),
// tests/**/*.e2e.test.ts (whole services, child processes, browser).
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // At least two files at a time, even on 2 cores: the e2e files mostly wait on child processes, Postgres
    // and NATS, and every file has its own database and stream names (docs/decisions/0016-tests-two-files-at-a-time.md).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    projects: [
      { extends: true, test: { name: 'unit', include: ['**/*.unit.test.ts'], exclude: ['**/node_modules/**'] } },
      { extends: true, test: { name: 'int', include: ['**/*.int.test.ts'], exclude: ['**/node_modules/**'] } },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['tests/**/*.e2e.test.ts'],
          exclude: ['**/node_modules/**'],
          testTimeout: 300_000,
        },
      },
    ],
  },
});
