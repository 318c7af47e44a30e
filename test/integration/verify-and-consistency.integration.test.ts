import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { uniqueTopic } from '../helpers/broker-fixture';
import { assertKilledOnPurpose } from '../helpers/cli';
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
    { file: 'clean.parquet', status: 'COMPLETED', sourceRows: ROWS, messages: ROWS, missing: 0, duplicated: 0, foreign: 0, unexpectedRecords: 0, deadLettered: 0, clean: true },
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
