import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaAdmin } from '../../src/kafka/kafka-admin';
import { isAlive, sleep } from '../../src/util/processes';
import { tempDir, uniqueTopic } from '../helpers/broker-fixture';
import { KafkaCluster, startKafkaCluster } from '../helpers/kafka-cluster-fixture';
import { processesUnder } from '../helpers/process-leaks';
import { readTopic, tally } from '../helpers/topic-reader';

/**
 * The 3-node cluster fixture itself, with Kafka clients only (no Spark): what the broker-failure
 * tests of spark-sync stand on. It proves that (1) a topic created without a replication factor
 * gets the cluster's default (3) and min.insync.replicas 2, (2) SIGKILLing the leader of a
 * partition makes another in-sync node its leader within seconds, (3) the killed node restarts on
 * the same data and rejoins the ISR, (4) an idempotent acks=all producer writing through that
 * loses nothing and duplicates nothing, and (5) stop() leaves no process behind. A run takes
 * about 30 s.
 */
const dir = tempDir('spark-sync-kafka-cluster-');
let cluster: KafkaCluster;
const pids: number[] = [];

before(async () => {
  cluster = await startKafkaCluster({ dir, nodes: 3 });
  pids.push(...cluster.nodes.map((n) => n.pid));
});

after(async () => {
  if (cluster === undefined) return;
  await cluster.stop();
  for (const pid of pids) assert.equal(isAlive(pid), false, `node pid ${pid} still running after stop`);
  assert.deepEqual(processesUnder(dir), [], 'no process runs in or names the cluster folder');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('three nodes on loopback, one cluster; a topic without a replication factor gets the default 3 and min.insync.replicas 2', async () => {
  assert.equal(cluster.nodes.length, 3);
  assert.deepEqual(cluster.bootstrap.split(','), cluster.nodes.map((n) => `127.0.0.1:${n.port}`));
  assert.equal(new Set(cluster.nodes.map((n) => n.pid)).size, 3, 'three JVMs');
  const brokers = await cluster.withAdmin(async (admin) => (await admin.describeCluster()).brokers.map((b) => b.nodeId).sort());
  assert.deepEqual(brokers, [1, 2, 3]);

  const topic = uniqueTopic('rf-default');
  const admin = await KafkaAdmin.connect({ bootstrapServers: cluster.brokers });
  try {
    assert.equal(await admin.createTopic(topic, 2), 3, "no replication factor: the broker's default.replication.factor");
    assert.equal(await admin.createTopic(uniqueTopic('rf-2'), 1, 2), 2, 'an explicit one is kept');
    await assert.rejects(admin.createTopic(uniqueTopic('rf-4'), 1, 4), (err: Error & { exitCode?: number }) => {
      assert.equal(err.exitCode, 2, 'more replicas than brokers is a usage error');
      assert.match(err.message, /refused topic \S+ with replication factor 4/);
      return true;
    });
  } finally {
    await admin.close();
  }
  for (const p of await cluster.partitions(topic)) {
    assert.deepEqual(p.replicas, [1, 2, 3]);
    assert.deepEqual(p.isr, [1, 2, 3]);
  }
  const minIsr = await cluster.withAdmin((a) => a.describeConfigs({ resources: [{ type: 2 /* TOPIC */, name: topic, configNames: ['min.insync.replicas'] }], includeSynonyms: false }));
  assert.equal(minIsr.resources[0].configEntries[0].configValue, '2');
  // The producer quota the broker-failure tests pace a run with is set and lifted by Kafka's tool.
  cluster.setProducerQuota(1_000_000);
  cluster.setProducerQuota(undefined);
});

test('SIGKILL of the leader of partition 0 while an idempotent acks=all producer writes: a new leader, the node rejoins, every message exactly once', async () => {
  const topic = uniqueTopic('leader-kill');
  const PARTITIONS = 3;
  const PER_SEND = 100;
  const STEP = 2_000;
  const admin = await KafkaAdmin.connect({ bootstrapServers: cluster.brokers });
  await admin.createTopic(topic, PARTITIONS);
  await admin.close();

  const kafka = new Kafka({ clientId: 'cluster-fixture-test', brokers: cluster.brokers, logLevel: logLevel.NOTHING, connectionTimeout: 2_000, requestTimeout: 10_000 });
  // Idempotent: acks=all, endless retries, sequence numbers the leader deduplicates by. Retries
  // back off to 1 s at most, so the producer finds the new leader promptly.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 1_000 } });
  await producer.connect();
  // The producer writes until told to stop: before the kill, while the node is down, and after
  // it is back. Each send is 100 messages, keyed by their number, to one partition in turn: one
  // partition (so one leader) per request, because kafkajs 2.2.4 loses messages otherwise. When a
  // request to several leaders fails at one of them, its retry skips every broker that already
  // answered, so the failed partition's messages are dropped, without an error, if its new leader
  // is one of those (producer/sendMessages.js, responsePerBroker).
  let sent = 0;
  let stopping = false;
  const partitionOf = (n: number) => Math.floor(n / PER_SEND) % PARTITIONS;
  const produced = (async () => {
    while (!stopping) {
      const messages = Array.from({ length: PER_SEND }, (_, i) => {
        const n = sent + i;
        return { key: `m-${n}`, value: `v-${n}`, partition: partitionOf(n) };
      });
      await producer.send({ topic, acks: -1, timeout: 30_000, messages });
      sent += PER_SEND;
      await sleep(10);
    }
  })();
  const untilSent = async (n: number, what: string) => {
    const deadline = Date.now() + 30_000;
    while (sent < n && Date.now() < deadline) await sleep(20);
    assert.ok(sent >= n, `${what}: ${sent} of ${n} messages sent after 30 s`);
  };

  let before = -1;
  let leader = -1;
  try {
    await untilSent(STEP, 'before the kill');
    before = await cluster.leaderOf(topic, 0);
    assert.ok(before > 0);
    const sentAtKill = sent;
    const killedAt = Date.now();
    await cluster.kill(before, 'SIGKILL');
    assert.equal(cluster.node(before).alive, false);
    leader = await cluster.waitForNewLeader(topic, 0, before, 30_000);
    const failover = (Date.now() - killedAt) / 1000;
    // Fenced after broker.session.timeout.ms (3 s): the new leader is there well within 15 s.
    assert.ok(failover < 15, `new leader after ${failover} s`);
    // The controller takes the fenced node out of the ISR (each broker's metadata a moment later).
    let isr: number[] = [];
    for (const deadline = Date.now() + 15_000; Date.now() < deadline; await sleep(250)) {
      isr = (await cluster.partitions(topic))[0].isr;
      if (!isr.includes(before)) break;
    }
    assert.equal(isr.includes(before), false, `the dead node left the ISR: ${isr}`);
    // Two in-sync replicas meet min.insync.replicas: writes go on with the node down.
    await untilSent(sentAtKill + STEP, `writing with node ${before} down`);
    const sentAtRestart = sent;
    const restartedAt = Date.now();
    await cluster.restart(before, { topics: [topic] });
    const rejoin = (Date.now() - restartedAt) / 1000;
    assert.ok(cluster.node(before).alive);
    await untilSent(sent + STEP, 'writing after the restart');
    process.stderr.write(`# node ${before} killed at ${sentAtKill} messages; partition 0 led by node ${leader} after ${failover} s; restarted at ${sentAtRestart}, back in the ISR after ${rejoin} s; ${sent} sent\n`);
  } finally {
    stopping = true;
    await produced.finally(() => producer.disconnect());
  }

  assert.notEqual(leader, before, 'partition 0 changed leader');
  assert.equal(await cluster.leaderOf(topic, 0), leader, 'no further leader change (no automatic rebalancing)');
  await cluster.waitForFullIsr([topic], 60_000);
  const total = sent;
  const expected = new Set(Array.from({ length: total }, (_, n) => `m-${n}`));
  const messages = await readTopic(cluster.bootstrap, topic);
  const copies = new Map<string, string[]>();
  for (const m of messages) copies.set(m.key, [...(copies.get(m.key) ?? []), `${m.partition}@${m.offset}`]);
  const duplicates = [...copies].filter(([, at]) => at.length > 1).slice(0, 5).map(([key, at]) => `${key} at ${at.join(', ')}`);
  const missingKeys = [...expected].filter((k) => !copies.has(k));
  if (missingKeys.length > 0) duplicates.push(`missing ${missingKeys.slice(0, 3).join(', ')} … ${missingKeys.slice(-2).join(', ')}`);
  assert.deepEqual(tally(messages, expected), { messages: total, distinctKeys: total, duplicated: 0, missing: 0, foreign: 0 }, `duplicates: ${duplicates.join('; ')}`);
  // Every partition holds its own messages, in the order they were sent.
  for (let p = 0; p < PARTITIONS; p++) {
    const order = messages.filter((m) => m.partition === p).sort((a, b) => a.offset - b.offset).map((m) => Number(m.key.slice(2)));
    assert.ok(order.every((n, i) => partitionOf(n) === p && (i === 0 || n > order[i - 1])), `partition ${p} in send order`);
  }
});
