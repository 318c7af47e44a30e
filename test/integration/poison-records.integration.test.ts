import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { uniqueTopic } from '../helpers/broker-fixture';
import { assertKilledOnPurpose } from '../helpers/cli';
import { useSyncFixture } from '../helpers/sync-fixture';
import { readTopic } from '../helpers/topic-reader';

/**
 * Poison records: a real 2 MB row, over the 1 MB Kafka takes by default (the producer's
 * max.request.size, the broker's message.max.bytes). With a dead-letter topic it goes there and
 * the file completes; without one the run stops with exit 2 naming file, position and size; with
 * both limits raised it is simply sent.
 */
const ROWS = 1_000;
const POISON_AT = 517;
const POISON_BYTES = 2 * 1024 * 1024;

const t = useSyncFixture({ partitions: 3, batchSize: 300 });
let csv = '';
let kafka: Kafka;

before(async () => {
  csv = path.join(t.dir, 'events.csv');
  const lines = ['id,payload'];
  for (let i = 0; i < ROWS; i++) lines.push(`${i},${i === POISON_AT ? 'x'.repeat(POISON_BYTES) : `small-${i}`}`);
  fs.writeFileSync(csv, `${lines.join('\n')}\n`);
  await t.brokerReady();
  kafka = new Kafka({ clientId: 'test-poison', brokers: [t.broker.bootstrap], logLevel: logLevel.NOTHING });
});

const csvArgs = ['--format', 'csv', '--csv-header'];

test('--dead-letter-topic: the 2 MB row goes there with its context headers, truncated to fit; the file completes, status and verify count it', async () => {
  const topic = uniqueTopic('poison');
  const dlq = `${topic}.dlq`;
  // --lineage-headers: the records name their rows, so the test can tell the poison row is not among them.
  const run = await t.submit(csv, topic, [...csvArgs, '--dead-letter-topic', dlq, '--lineage-headers']);
  assert.equal(run.code, 0, run.stderr.slice(-1500));
  assert.ok(run.logs.some((l) => l.msg === 'created dead-letter topic' && l.topic === dlq), '--create-topic made the dead-letter topic too');
  const files = run.summary.files as Array<{ deadLettered: number; status: string }>;
  assert.equal(files[0].status, 'COMPLETED');
  assert.equal(files[0].deadLettered, 1);

  const messages = await readTopic(t.broker.bootstrap, topic);
  assert.equal(messages.length, ROWS - 1);
  assert.equal(new Set(messages.map((m) => m.key)).size, ROWS - 1);
  assert.ok(!messages.some((m) => m.headers['spark-sync.position'] === String(POISON_AT)));

  const [dead, ...more] = await readTopic(t.broker.bootstrap, dlq);
  assert.equal(more.length, 0);
  assert.equal(dead.headers['spark-sync.file'], 'events.csv');
  assert.equal(dead.headers['spark-sync.position'], String(POISON_AT));
  assert.equal(dead.headers['spark-sync.errors.topic'], topic);
  assert.equal(dead.headers['spark-sync.errors.exception.class.name'], 'org.apache.kafka.common.errors.RecordTooLargeException');
  assert.match(dead.headers['spark-sync.errors.exception.message'], new RegExp(`position ${POISON_AT} of events\\.csv is \\d+ bytes as a Kafka record, over the 1048576 bytes`));
  assert.equal(dead.headers['spark-sync.errors.truncated'], 'true');
  const original = Number(dead.headers['spark-sync.errors.original.size']);
  assert.ok(original > POISON_BYTES, `original size ${original}`);
  // The value is the row's JSON, cut to fit under the dead-letter topic's 1 MB.
  assert.ok(dead.value.startsWith(`{"id":"${POISON_AT}","payload":"xxx`) && dead.value.length < 1_048_576 && dead.value.length > 1_000_000, `value of ${dead.value.length} bytes`);

  const status = await t.cli(['status', '--checkpoint', t.checkpoint(topic), '--json']);
  assert.equal((status.summary.files as Array<{ dead_lettered: number }>)[0].dead_lettered, 1);
  const verify = await t.verify(topic);
  assert.equal(verify.code, 0, verify.stderr.slice(-800));
  const [audit] = verify.summary.files as Array<Record<string, unknown>>;
  assert.deepEqual({ missing: audit.missing, duplicated: audit.duplicated, foreign: audit.foreign, deadLettered: audit.deadLettered }, { missing: 0, duplicated: 0, foreign: 0, deadLettered: 1 });
});

test('without a dead-letter topic the 2 MB row stops the run with exit 2 naming file, position and size; raising max.request.size and the topic\'s limit then sends it', async () => {
  const topic = uniqueTopic('poison-stop');
  const run = await t.submit(csv, topic, csvArgs);
  assert.equal(run.code, 2, run.stderr.slice(-1500));
  const errors = run.stderr.split('\n').filter((l) => l.startsWith('spark-sync: error'));
  assert.equal(errors.length, 1, run.stderr);
  assert.match(errors[0], new RegExp(`\\[RECORD_TOO_LARGE\\].*the row at position ${POISON_AT} of events\\.csv is \\d+ bytes as a Kafka record, over the 1048576 bytes.*--dead-letter-topic`));
  // The batch holding it was not committed.
  const status = await t.cli(['status', '--checkpoint', t.checkpoint(topic), '--json']);
  const [file] = status.summary.files as Array<{ records_processed: number; status: string }>;
  assert.equal(file.status, 'IN_PROGRESS');
  assert.ok(file.records_processed <= POISON_AT, `checkpoint at ${file.records_processed}`);

  const admin = kafka.admin();
  await admin.connect();
  await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2 /* TOPIC */, name: topic, configEntries: [{ name: 'max.message.bytes', value: String(4 * 1024 * 1024) }] }] });
  await admin.disconnect();
  const props = path.join(t.dir, 'big-requests.properties');
  fs.writeFileSync(props, `max.request.size=${4 * 1024 * 1024}\n`);
  const rerun = await t.submit(csv, topic, [...csvArgs, '--kafka-config', props, '--lineage-headers'], { partitions: null });
  assert.equal(rerun.code, 0, rerun.stderr.slice(-1500));
  const messages = await readTopic(t.broker.bootstrap, topic);
  assert.equal(messages.length, ROWS);
  assert.equal(new Set(messages.map((m) => m.key)).size, ROWS);
  const poison = messages.find((m) => m.headers['spark-sync.position'] === String(POISON_AT))!;
  assert.ok(poison.value.length > POISON_BYTES);
});

test('review 25.2: --recovery full after a crash recognises rows dead-lettered in committed batches: counted once, never sent to the dead-letter topic again; verify finds them there by their headers', async () => {
  const poisonAt = [17, 130, 251];
  const file = path.join(t.dir, 'three-poisons.csv');
  const lines = ['id,payload'];
  for (let i = 0; i < ROWS; i++) lines.push(`${i},${poisonAt.includes(i) ? 'y'.repeat(POISON_BYTES) : `small-${i}`}`);
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  const topic = uniqueTopic('poison-full');
  const dlq = `${topic}.dlq`;
  const args = [...csvArgs, '--dead-letter-topic', dlq];
  // Batch 0 dead-letters three rows and commits; batch 2 is cut off by a SIGKILL mid-write.
  const crashed = await t.submit(file, topic, args, { env: { SPARK_SYNC_TEST_CRASH_AT: 'mid-batch@2', SPARK_SYNC_TEST_CRASH_AFTER_RECORDS: '20' } });
  assertKilledOnPurpose(crashed, 'the crashed run');
  const rerun = await t.submit(file, topic, [...args, '--recovery', 'full'], { partitions: null });
  assert.equal(rerun.code, 0, rerun.stderr.slice(-1500));
  const recovered = rerun.logs.find((l) => l.msg === 'recovered a batch cut off by a crash');
  assert.equal(recovered?.method, 'join');
  const dead = await readTopic(t.broker.bootstrap, dlq);
  const status = await t.cli(['status', '--checkpoint', t.checkpoint(topic), '--json']);
  const [cp] = status.summary.files as Array<{ dead_lettered: number; status: string }>;
  process.stderr.write(`# 25.2: after --recovery full, dead_lettered ${cp.dead_lettered}, dead-letter topic holds ${dead.length}\n`);
  assert.equal(cp.status, 'COMPLETED');
  assert.equal(cp.dead_lettered, poisonAt.length, 'each dead-lettered row counted once');
  assert.deepEqual(dead.map((m) => Number(m.headers['spark-sync.position'])).sort((a, b) => a - b), poisonAt, 'each once in the dead-letter topic');
  const messages = await readTopic(t.broker.bootstrap, topic);
  assert.equal(messages.length, ROWS - poisonAt.length);
  assert.equal(new Set(messages.map((m) => m.key)).size, ROWS - poisonAt.length);
  const verify = await t.verify(topic);
  assert.equal(verify.code, 0, verify.stderr.slice(-800));
  const [audit] = verify.summary.files as Array<Record<string, unknown>>;
  assert.deepEqual({ missing: audit.missing, duplicated: audit.duplicated, foreign: audit.foreign, deadLettered: audit.deadLettered }, { missing: 0, duplicated: 0, foreign: 0, deadLettered: poisonAt.length });
});

test('review 25.1: verify finds dead letters in the dead-letter topic by their headers, not by a count: a dead letter deleted from it is missing (exit 5)', async () => {
  const topic = uniqueTopic('poison-verify');
  const dlq = `${topic}.dlq`;
  const run = await t.submit(csv, topic, [...csvArgs, '--dead-letter-topic', dlq]);
  assert.equal(run.code, 0, run.stderr.slice(-1500));
  assert.equal((await t.verify(topic)).code, 0);
  // The dead letter is lost downstream (deleted by retention, say): the row is in neither topic.
  const admin = kafka.admin();
  await admin.connect();
  await admin.fetchTopicOffsets(dlq);
  await admin.deleteTopicRecords({ topic: dlq, partitions: [{ partition: 0, offset: '-1' }] });
  await admin.disconnect();
  const verify = await t.verify(topic);
  assert.equal(verify.code, 5, verify.stderr.slice(-800));
  const [audit] = verify.summary.files as Array<Record<string, unknown>>;
  assert.deepEqual({ missing: audit.missing, deadLettered: audit.deadLettered }, { missing: 1, deadLettered: 0 });
});
