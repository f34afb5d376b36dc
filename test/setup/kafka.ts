// Helpers for test files that need a real Kafka broker.
// The broker is started (or taken from $KAFKA_BROKERS) by the vitest globalSetup
// test/setup/kafka-global-setup.ts, which hands its address over with provide().
import { describe, inject, it } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** 'host:port[,host:port]' of the test broker, or null when there is none. */
    kafkaBrokers: string | null;
    /** Why there is no broker (only set when kafkaBrokers is null). */
    kafkaUnavailableReason: string | null;
  }
}

const IS_CI = process.env.CI === 'true';

/** The test broker's address ('127.0.0.1:PORT'), or null when there is none. */
export function kafkaBrokers(): string | null {
  const provided = inject('kafkaBrokers');
  if (provided) return provided;
  // a config without the globalSetup: still honour an explicit broker
  return process.env.KAFKA_BROKERS?.trim() || null;
}

/** kafkaBrokers() as the list kafkajs wants; throws when there is no broker. */
export function kafkaBrokerList(): string[] {
  const b = kafkaBrokers();
  if (!b) throw new Error(`no Kafka broker: ${kafkaUnavailableReason()}`);
  return b.split(',').map((s) => s.trim()).filter(Boolean);
}

export function kafkaUnavailableReason(): string {
  return (
    inject('kafkaUnavailableReason') ??
    'no Kafka broker: KAFKA_BROKERS is not set and test/setup/kafka-global-setup.ts is not in this config\'s globalSetup'
  );
}

const skipNoticePrinted = new Set<string>();

/**
 * describe() for suites that need Kafka. With a broker the suite runs; without
 * one it is skipped after printing why — except under CI=true, where a missing
 * broker is a failure, never a skip.
 */
export function describeKafka(name: string, fn: () => void): void {
  if (kafkaBrokers()) {
    describe(name, fn);
    return;
  }
  const reason = kafkaUnavailableReason();
  if (IS_CI) {
    describe(name, () => {
      it('needs a Kafka broker (CI=true: not skipped)', () => {
        throw new Error(`Kafka broker unavailable under CI=true: ${reason}`);
      });
    });
    return;
  }
  if (!skipNoticePrinted.has(reason)) {
    skipNoticePrinted.add(reason);
    console.warn(`[kafka] skipping Kafka suites: ${reason}`);
  }
  describe.skip(name, fn);
}
