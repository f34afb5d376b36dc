// vitest globalSetup: one real Kafka broker for the whole run.
//   - KAFKA_BROKERS set  -> that broker is used as is (nothing started or stopped);
//   - otherwise          -> engine/cli/kafka/broker.ts starts a single-node KRaft broker,
//                           stopped again by the returned teardown.
// Test files read the address with inject('kafkaBrokers') (see ./kafka.ts).
// Without Java (or Maven for the first jar fetch) the suites are skipped with the
// reason printed, except under CI=true, where startBroker throws and the run fails.
import type { TestProject } from 'vitest/node';
import { startBroker } from '../../engine/cli/kafka/broker.js';
import type {} from './kafka.js'; // the ProvidedContext keys

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // kafkajs prints a partitioner warning at every producer otherwise.
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

  const external = process.env.KAFKA_BROKERS?.trim();
  if (external) {
    project.provide('kafkaBrokers', external);
    project.provide('kafkaUnavailableReason', null);
    return async () => {};
  }

  const broker = await startBroker();
  if (!broker.available) {
    console.warn(`[kafka] no broker for this run: ${broker.reason}`);
    project.provide('kafkaBrokers', null);
    project.provide('kafkaUnavailableReason', broker.reason);
    return async () => {};
  }
  project.provide('kafkaBrokers', broker.brokers);
  project.provide('kafkaUnavailableReason', null);
  return async () => {
    await broker.stop();
  };
}
