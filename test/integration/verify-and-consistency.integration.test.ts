import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { hashKey, naturalKey, partitionOfKey } from '../../src/index';
import { uniqueTopic } from '../helpers/broker-fixture';
import { assertKilledOnPurpose } from '../helpers/cli';
import { expectedSampleKeys } from '../helpers/sample-rows';
import { useSyncFixture } from '../helpers/sync-fixture';
import { readTopic } from '../helpers/topic-reader';

const ROWS = 20_000;
const BATCH = 5_000;
const PARTITIONS = 3;

const t = useSyncFixture({ partitions: PARTITIONS, batchSize: BATCH });
let kafka: Kafka;

before(async () => {
  await t.brokerReady();
  kafka = new Kafka({ clientId: 'test-stray-writer', brokers: [t.broker.bootstrap], logLevel: logLevel.NOTHING });
});

/** Each file's checkpoint, without `source_check` (computed as status runs, not stored). */
async function checkpointFiles(checkpoint: string): Promise<unknown> {
  const r = await t.cli(['status', '--checkpoint', checkpoint, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return (r.summary.files as Array<Record<string, unknown>>).map(({ source_check: _live, ...stored }) => stored);
}

test('verify: a clean topic passes with exit 0', async () => {
  const source = await t.sample('clean.parquet', ROWS);
  const topic = uniqueTopic('verify-clean');
  assert.equal((await t.submit(source, topic)).code, 0);
  const r = await t.verify(topic);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((r.summary.files as Array<Record<string, unknown>>).map(({ seconds: _s, ...f }) => f), [
    { file: 'clean.parquet', status: 'COMPLETED', sourceRows: ROWS, messages: ROWS, missing: 0, duplicated: 0, foreign: 0, unexpectedRecords: 0, deadLettered: 0, outsideRange: 0, clean: true },
  ]);
  assert.equal(r.summary.unaccounted, 0);
});

test('strays written into a cut-off batch\'s range: recovery completes the file, keeps the anomaly, exits 4; status and verify show it', async () => {
  const source = await t.sample('stray.parquet', ROWS);
  const topic = uniqueTopic('verify-stray');
  const checkpoint = t.checkpoint(topic);
  // Crash after batch 1 reached Kafka, then let a rogue producer write while spark-sync is down:
  // a copy of one of the file's records, and a foreign record.
  const crashed = await t.submit(source, topic, [], { env: { SPARK_SYNC_TEST_CRASH_AT: 'after-ack@1' } });
  assertKilledOnPurpose(crashed, 'the crashed run');
  const existing = (await readTopic(t.broker.bootstrap, topic))[0];
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: [
    { key: existing.key, value: existing.value, partition: existing.partition },
    { key: 'not-a-spark-sync-key', value: '{}', partition: 1 },
  ] });
  await producer.disconnect();
  const rerun = await t.submit(source, topic);
  // Nothing is lost (the file completes), nothing is absorbed silently (exit 4, one line).
  assert.equal(rerun.code, 4, rerun.stderr);
  const recovery = rerun.logs.find((l) => l.msg === 'recovered a batch cut off by a crash');
  assert.equal(recovery?.method, 'join', 'the strays are not the batch\'s own prefix, so recovery fell back to the anti-join');
  assert.equal(recovery?.unexpected_records, 2);
  const errors = rerun.stderr.split('\n').filter((l) => l.startsWith('spark-sync: error'));
  assert.equal(errors.length, 1, rerun.stderr);
  assert.match(errors[0], /RECORDS_UNEXPECTED.*holds 2 record\(s\) in the offset ranges of 1 file\(s\) that are not their rows.*stray\.parquet: 2 in batch 1.*reset --acknowledge/);
  const [file] = (await checkpointFiles(checkpoint)) as Array<Record<string, unknown>>;
  assert.equal(file.status, 'COMPLETED');
  assert.equal(file.records_processed, ROWS);
  assert.equal(file.unexpected_records, 2);
  const [anomaly] = file.anomalies as Array<Record<string, unknown>>;
  assert.equal(anomaly.batch_index, 1);
  assert.equal(anomaly.records, 2);
  // At a terminal, status flags the file.
  assert.match((await t.cli(['status', '--checkpoint', checkpoint])).stdout, /stray\.parquet\s+COMPLETED\s+20000\/20000\s+0\s+2 \(ANOMALY\)/);

  const r = await t.verify(topic);
  assert.equal(r.code, 5, r.stderr);
  assert.equal(r.summary.ok, false);
  const [audit] = r.summary.files as Array<Record<string, unknown>>;
  assert.deepEqual(
    { sourceRows: audit.sourceRows, messages: audit.messages, missing: audit.missing, duplicated: audit.duplicated, foreign: audit.foreign, unexpectedRecords: audit.unexpectedRecords },
    { sourceRows: ROWS, messages: ROWS + 2, missing: 0, duplicated: 1, foreign: 1, unexpectedRecords: 2 },
  );
  // A rerun still exits 4 until an operator acknowledges the anomaly; then 0.
  assert.equal((await t.submit(source, topic)).code, 4);
  const ack = await t.cli(['reset', '--acknowledge', '--all', '--topic', topic, '--checkpoint', checkpoint]);
  assert.equal(ack.code, 0, ack.stderr);
  assert.deepEqual(ack.summary.acknowledged, [{ kafka_topic: topic, file_name: 'stray.parquet', unexpected_records: 2 }]);
  const after = await t.submit(source, topic);
  assert.equal(after.code, 0, after.stderr);
  assert.equal(after.summary.recordsSent, 0);
});

const consistencyCases: Array<{ name: string; between: (topic: string, source: string) => Promise<void>; line: RegExp }> = [
  {
    name: 'topic deleted and recreated (offsets went backwards)',
    between: async (topic) => {
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [topic] });
      for (let i = 0; i < 50 && (await admin.listTopics()).includes(topic); i++) await new Promise((r) => setTimeout(r, 200));
      await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
      await admin.disconnect();
    },
    line: /OFFSET_MISMATCH.*partition \d+ of .* ends at offset 0, below the checkpoint's \d+.*reset --file/,
  },
  {
    name: 'partition count changed',
    between: async (topic) => {
      const admin = kafka.admin();
      await admin.connect();
      await admin.createPartitions({ topicPartitions: [{ topic, count: PARTITIONS + 1 }] });
      await admin.disconnect();
    },
    line: /OFFSET_MISMATCH.*has 4 partitions but .* started with 3/,
  },
  {
    name: 'source file rewritten',
    between: async (_topic, source) => {
      await t.sample(source, ROWS + 1);
    },
    line: /SOURCE_CHANGED.*changed since its sync started.*restore the original file/,
  },
];

for (const c of consistencyCases) {
  test(`after a crash, ${c.name}: exit 4, one clear line, checkpoint unchanged`, async () => {
    const source = await t.sample(`${c.name.split(' ')[0]}.parquet`, ROWS);
    const topic = uniqueTopic('consistency');
    const checkpoint = t.checkpoint(topic);
    const crashed = await t.submit(source, topic, [], { env: { SPARK_SYNC_TEST_CRASH_AT: 'after-ack@1' } });
    assertKilledOnPurpose(crashed, 'the crashed run');
    const before = await checkpointFiles(checkpoint);
    await c.between(topic, source);
    const rerun = await t.submit(source, topic);
    assert.equal(rerun.code, 4, rerun.stderr);
    const errors = rerun.stderr.split('\n').filter((l) => l.startsWith('spark-sync: error'));
    assert.equal(errors.length, 1, rerun.stderr);
    assert.match(errors[0], c.line);
    assert.equal(rerun.summary.ok, false);
    assert.deepEqual(await checkpointFiles(checkpoint), before, 'the checkpoint is as the crash left it');
  });
}

test('another producer writing during a sync stops it with exit 4, naming the partition and offsets', async () => {
  const source = await t.sample('contested.parquet', ROWS);
  const topic = uniqueTopic('contested');
  const checkpoint = t.checkpoint(topic);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
  await admin.disconnect();
  const rogue = kafka.producer();
  await rogue.connect();
  let writing = true;
  const rogueLoop = (async () => {
    for (let i = 0; writing; i++) {
      await rogue.send({ topic, messages: [{ key: `rogue-${i}`, value: 'x', partition: i % PARTITIONS }] });
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  try {
    const run = await t.submit(source, topic);
    assert.equal(run.code, 4, run.stderr);
    const errors = run.stderr.split('\n').filter((l) => l.startsWith('spark-sync: error'));
    assert.equal(errors.length, 1, run.stderr);
    // Caught either by the driver's post-batch check or by a task that finds its partition ahead.
    assert.match(errors[0], /OFFSET_MISMATCH.*partition \d+ of .*(ends at offset \d+, expected \d+|holds \d+ records past the batch's start offset \d+)/);
  } finally {
    writing = false;
    await rogueLoop;
    await rogue.disconnect();
  }
  const [file] = (await checkpointFiles(checkpoint)) as Array<{ status: string; records_processed: number }>;
  assert.equal(file.status, 'IN_PROGRESS', 'the contested batch was not committed');
});

/**
 * Review 25.4: the ordered write path (CSV; natural keys), a batch cut off by a crash, and a
 * stray record in a partition that batch has no rows for. The rerun must find the stray, recover
 * the batch with the anti-join and keep the anomaly (exit 4 until acknowledged), not stop on an
 * offset mismatch on every rerun.
 */
const ORDERED_PARTITIONS = 8;
const ORDERED_BATCH = 4;
const ORDERED_ROWS = 40;
const CUT_BATCH = 3;

for (const mode of ['positional', 'natural'] as const) {
  test(`review 25.4: ordered-path resume (CSV, ${mode} keys) with a stray in a partition the cut-off batch has no rows for: anti-join, anomaly kept (exit 4), then exit 0 once acknowledged`, async () => {
    const file = `ordered-${mode}.csv`;
    const rows = Array.from({ length: ORDERED_ROWS }, (_, i) => [`u${i}`, `ev${i % 5}`, String(i * 3)]);
    const csv = path.join(t.dir, file);
    fs.writeFileSync(csv, ['user,event,amount', ...rows.map((r) => r.join(','))].join('\n') + '\n');
    const keyOf = (r: string[], position: number) => (mode === 'natural' ? naturalKey([r[0], r[1]]) : hashKey(r, file, position));
    const keys = new Set(rows.map(keyOf));
    const args = ['--csv-header', ...(mode === 'natural' ? ['--key-fields', 'user,event'] : [])];
    const topic = uniqueTopic(`ordered-stray-${mode}`);
    const checkpoint = t.checkpoint(topic);
    const opts = { partitions: ORDERED_PARTITIONS, batchSize: ORDERED_BATCH };
    // A kill inside the cut-off batch's first writing task, after its first record.
    const crashed = await t.submit(csv, topic, args, { ...opts, env: { SPARK_SYNC_TEST_CRASH_AT: `mid-batch@${CUT_BATCH}`, SPARK_SYNC_TEST_CRASH_AFTER_RECORDS: '1' } });
    assertKilledOnPurpose(crashed, 'the crashed run');
    const cut = rows.slice(CUT_BATCH * ORDERED_BATCH, (CUT_BATCH + 1) * ORDERED_BATCH).map((r, i) => partitionOfKey(keyOf(r, CUT_BATCH * ORDERED_BATCH + i), ORDERED_PARTITIONS));
    const empty = Array.from({ length: ORDERED_PARTITIONS }, (_, p) => p).find((p) => !cut.includes(p))!;
    const before = await readTopic(t.broker.bootstrap, topic);
    assert.ok(before.length > CUT_BATCH * ORDERED_BATCH, `the crash cut batch ${CUT_BATCH} off mid-write (${before.length} records)`);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'stray', value: '{}', partition: empty }] });
    await producer.disconnect();

    const rerun = await t.submit(csv, topic, args, { partitions: null, batchSize: ORDERED_BATCH });
    const errors = rerun.stderr.split('\n').filter((l) => l.startsWith('spark-sync: error'));
    process.stderr.write(`# 25.4 ${mode}: stray in partition ${empty} (batch ${CUT_BATCH} wrote ${cut.join(',')}): rerun exit ${rerun.code}: ${errors[0] ?? ''}\n`);
    assert.equal(rerun.code, 4, rerun.stderr.slice(-1500));
    assert.equal(errors.length, 1, rerun.stderr);
    assert.match(errors[0], /\[RECORDS_UNEXPECTED\].*holds 1 record\(s\) in the offset ranges of 1 file\(s\)/);
    const recovery = rerun.logs.find((l) => l.msg === 'recovered a batch cut off by a crash');
    assert.equal(recovery?.method, 'join', 'the stray sent the resume to the anti-join');
    assert.equal(recovery?.unexpected_records, 1);
    const [cp] = (await checkpointFiles(checkpoint)) as Array<Record<string, unknown>>;
    assert.equal(cp.status, 'COMPLETED');
    assert.equal(cp.unexpected_records, 1);
    // Every row once, and the stray.
    const messages = await readTopic(t.broker.bootstrap, topic);
    const own = messages.filter((m) => m.key !== 'stray');
    assert.deepEqual({ messages: own.length, distinct: new Set(own.map((m) => m.key)).size, missing: [...keys].filter((k) => !own.some((m) => m.key === k)).length, strays: messages.length - own.length },
      { messages: ORDERED_ROWS, distinct: ORDERED_ROWS, missing: 0, strays: 1 });

    assert.equal((await t.submit(csv, topic, args, { partitions: null, batchSize: ORDERED_BATCH })).code, 4, 'exit 4 until acknowledged');
    const ack = await t.cli(['reset', '--acknowledge', '--all', '--topic', topic, '--checkpoint', checkpoint]);
    assert.equal(ack.code, 0, ack.stderr);
    const after = await t.submit(csv, topic, args, { partitions: null, batchSize: ORDERED_BATCH });
    assert.equal(after.code, 0, after.stderr.slice(-800));
    assert.equal(after.summary.recordsSent, 0);
  });
}

test('review 25.10: verify --scope topic finds copies of a file\'s records written before its range began (exit 5, as duplicated); the range audit stays the default and passes', async () => {
  const rows = 2_000;
  const source = await t.sample('copied-before.parquet', rows);
  const topic = uniqueTopic('verify-scope');
  const keys = expectedSampleKeys(rows, 'copied-before.parquet');
  // Another producer (an earlier run on another machine, say) already wrote copies of 7 of the
  // file's records into the topic before spark-sync syncs it.
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: keys.slice(0, 7).map((key) => ({ key, value: '{}', partition: partitionOfKey(key, PARTITIONS) })) });
  await producer.disconnect();
  assert.equal((await t.submit(source, topic, [], { partitions: null })).code, 0);

  const range = await t.verify(topic);
  assert.equal(range.code, 0, range.stderr.slice(-800));
  assert.equal(range.summary.scope, 'range');

  const whole = await t.verify(topic, ['--scope', 'topic']);
  process.stderr.write(`# 25.10: verify --scope topic exit ${whole.code}: ${whole.stdout.trim().split('\n').at(-1)?.slice(0, 300)}\n`);
  assert.equal(whole.code, 5, whole.stderr.slice(-800));
  assert.equal(whole.summary.ok, false);
  assert.equal(whole.summary.scope, 'topic');
  const [audit] = whole.summary.files as Array<Record<string, unknown>>;
  assert.deepEqual(
    { sourceRows: audit.sourceRows, messages: audit.messages, missing: audit.missing, duplicated: audit.duplicated, outsideRange: audit.outsideRange, foreign: audit.foreign, clean: audit.clean },
    { sourceRows: rows, messages: rows, missing: 0, duplicated: 7, outsideRange: 7, foreign: 0, clean: false },
  );
});
