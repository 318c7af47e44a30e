#!/usr/bin/env node
'use strict';
// Counts a topic's messages and distinct keys with a plain kafkajs consumer, independently of
// spark-sync's own code, so a check can prove "exactly N" from the outside.
// Usage: node scripts/lib/count-topic.js <bootstrap host:port> <topic>
// Prints {"topic":…,"messages":N,"distinctKeys":K,"nullKeys":Z}; exits 1 on any error.
const { Kafka, logLevel } = require('kafkajs');

async function main() {
  const [bootstrap, topic] = process.argv.slice(2);
  if (!bootstrap || !topic) throw new Error('usage: count-topic.js <bootstrap> <topic>');
  const kafka = new Kafka({ clientId: 'count-topic', brokers: [bootstrap], logLevel: logLevel.NOTHING });

  // The end offsets taken now are the target: read every partition from its start up to them.
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map();
  for (const p of offsets) {
    const left = BigInt(p.high) - BigInt(p.low);
    if (left > 0n) remaining.set(p.partition, BigInt(p.high));
  }

  const keys = new Set();
  let messages = 0;
  let nullKeys = 0;
  if (remaining.size > 0) {
    // A fresh group id each time, so no committed offsets are reused.
    const consumer = kafka.consumer({ groupId: `count-topic-${process.pid}-${Date.now()}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out reading ${topic}`)), 120_000);
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) {
              const high = remaining.get(batch.partition);
              if (high === undefined || BigInt(m.offset) >= high) continue;
              messages += 1;
              if (m.key === null) nullKeys += 1;
              else keys.add(m.key.toString('hex'));
              if (BigInt(m.offset) + 1n >= high) remaining.delete(batch.partition);
            }
            if (remaining.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
  }
  console.log(JSON.stringify({ topic, messages, distinctKeys: keys.size, nullKeys }));
}

main().catch((err) => {
  console.error(`count-topic: ${err.message}`);
  process.exit(1);
});
