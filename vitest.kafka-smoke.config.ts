// Runs only the Kafka broker smoke test against a real broker:
//   npx vitest run --config vitest.kafka-smoke.config.ts test/connectors/kafka/broker.test.ts
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/connectors/kafka/**/*.test.ts'],
    globalSetup: ['test/setup/kafka-global-setup.ts'],
    env: { KAFKAJS_NO_PARTITIONER_WARNING: '1' },
    testTimeout: 120_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
    pool: 'forks',
  },
});
