import assert from 'node:assert/strict';
import { Admin, Kafka, KafkaConfig, logLevel } from 'kafkajs';

export interface TopicMessage {
  partition: number;
  offset: number;
  key: string;
  value: string;
  headers: Record<string, string>;
  /** The byte length of the spark-sync.id header as written (32: raw digest bytes), if any. */
  idBytes?: number;
}

/**
 * Reads every message of a topic with its own kafkajs consumer, independent of spark-sync's
 * code paths: what a downstream user would see.
 */
export async function readTopic(bootstrap: string, topic: string, security: Pick<KafkaConfig, 'sasl' | 'ssl'> = {}): Promise<TopicMessage[]> {
  // `bootstrap` may name several brokers, comma-separated (a cluster's).
  const kafka = new Kafka({ clientId: 'spark-sync-test-reader', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING, ...security });
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const expected = offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
  const messages: TopicMessage[] = [];
  if (expected === 0) return messages;
  const consumer = kafka.consumer({ groupId: `reader-${topic}-${Date.now()}`, maxBytes: 50 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`read ${messages.length} of ${expected} messages of ${topic} in 120 s`)), 120_000);
    consumer
      .run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) {
            const headers: Record<string, string> = {};
            // spark-sync.id holds the identity's 32 raw digest bytes: shown as its 64 hex characters.
            let idBytes: number | undefined;
            for (const [k, v] of Object.entries(m.headers ?? {})) {
              const raw = Buffer.isBuffer(v) ? v : Buffer.from(String(v));
              if (k === 'spark-sync.id') idBytes = raw.length;
              headers[k] = k === 'spark-sync.id' && raw.length === 32 ? raw.toString('hex') : raw.toString();
            }
            messages.push({ partition: batch.partition, offset: Number(m.offset), key: m.key?.toString() ?? '', value: m.value?.toString() ?? '', headers, ...(idBytes === undefined ? {} : { idBytes }) });
          }
          if (messages.length >= expected) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return messages;
}

/** The figures a user cares about. */
export function tally(messages: TopicMessage[], expectedKeys: Set<string>) {
  const seen = new Map<string, number>();
  for (const m of messages) seen.set(m.key, (seen.get(m.key) ?? 0) + 1);
  return {
    messages: messages.length,
    distinctKeys: seen.size,
    duplicated: [...seen.values()].filter((n) => n > 1).length,
    missing: [...expectedKeys].filter((k) => !seen.has(k)).length,
    foreign: [...seen.keys()].filter((k) => !expectedKeys.has(k)).length,
  };
}

/** Asserts the topic holds exactly `keys`: every one once, nothing missing, duplicated or foreign. */
export async function assertExactTopic(bootstrap: string, topic: string, keys: Set<string>, security: Pick<KafkaConfig, 'sasl' | 'ssl'> = {}): Promise<void> {
  const messages = await readTopic(bootstrap, topic, security);
  assert.deepEqual(tally(messages, keys), { messages: keys.size, distinctKeys: keys.size, duplicated: 0, missing: 0, foreign: 0 });
}

/** The broker's topics, from a plain kafkajs admin. */
export async function listTopics(bootstrap: string): Promise<string[]> {
  const admin = new Kafka({ clientId: 'spark-sync-test-admin', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return await admin.listTopics();
  } finally {
    await admin.disconnect();
  }
}

/**
 * Resolves once the topic's partitions hold at least `messages` messages in all (end offsets
 * summed), polled every 50 ms: a test's way to act while a batch is being written.
 */
export async function waitForMessages(bootstrap: string, topic: string, messages: number, timeoutMs = 120_000): Promise<number> {
  const admin = new Kafka({ clientId: 'spark-sync-test-watch', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const total = await messagesIn(admin, topic);
      if (total >= messages) return total;
      if (Date.now() > deadline) throw new Error(`${topic} held ${total} of ${messages} messages after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await admin.disconnect();
  }
}

/** The topic's end offsets summed (0 while it does not exist), through an open kafkajs admin. */
export async function messagesIn(admin: Admin, topic: string): Promise<number> {
  return (await admin.fetchTopicOffsets(topic).catch(() => [])).reduce((n, o) => n + Number(o.high), 0);
}
