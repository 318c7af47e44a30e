/**
 * Development services, apart from the library's API (`spark-sync/dev`): a real single-node
 * Apache Kafka broker (KRaft) in a child JVM for the demo, notebooks, tests and the benchmark.
 * Production brokers are the user's own.
 */
export { startDevBroker, stopDevBroker, freePort } from './dev-broker';
export type { DevBroker, DevBrokerOptions } from './dev-broker';
