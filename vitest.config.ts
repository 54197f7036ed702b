import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration suites each start their own nats-server and ffmpeg runs; two cores only.
    fileParallelism: true,
    maxWorkers: 2,
    minWorkers: 1,
    pool: 'forks',
    reporters: ['default'],
    env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
    setupFiles: ['test/helpers/setup.ts'],
  },
});
