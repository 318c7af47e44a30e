import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { uniqueTopic } from '../helpers/broker-fixture';
import { CliResult, assertKilledOnPurpose, submitSummary } from '../helpers/cli';
import { naturalKey } from '../../src/index';
import { expectedSampleKeys, sampleFields } from '../helpers/sample-rows';
import { useSyncFixture } from '../helpers/sync-fixture';
import { messagesIn, readTopic, tally } from '../helpers/topic-reader';

/**
 * Exactly-once across crashes (DESIGN.md §2): the CLI is SIGKILLed — at named points, and at
 * random moments — and rerun; afterwards an independent consumer must find every row exactly
 * once, with exactly the expected keys.
 */
const SMALL_ROWS = 40_000;
const SMALL_BATCH = 10_000;
const BIG_ROWS = 200_000;
/** The random-kill test's batches: large enough that a kill placed by offsets finds one being written. */
const RANDOM_BATCH = 20_000;

const t = useSyncFixture({ partitions: 3, batchSize: SMALL_BATCH });
const smallKeys = expectedSampleKeys(SMALL_ROWS, 'small.parquet');
const small = { file: 'small.parquet', path: '', keys: new Set(smallKeys) };
/** Each key's position in small.parquet: records carry no position header unless asked to. */
const smallPositions = new Map(smallKeys.map((k, i) => [k, i]));
const big = { file: 'big.parquet', path: '', keys: new Set(expectedSampleKeys(BIG_ROWS, 'big.parquet')) };

before(async () => {
  small.path = await t.sample(small.file, SMALL_ROWS, 262144);
  big.path = await t.sample(big.file, BIG_ROWS, 262144);
});

function recovered(run: CliResult): Record<string, unknown> | undefined {
  return run.logs.find((l) => l.msg === 'recovered a batch cut off by a crash');
}

for (const point of ['before-batch', 'mid-batch', 'after-ack'] as const) {
  for (const batch of [0, 2]) {
    test(`SIGKILL ${point} of batch ${batch}, then rerun: every row exactly once`, async () => {
      const topic = uniqueTopic(`${point}-${batch}`);
      const crashed = await t.submit(small.path, topic, [], { env: { SPARK_SYNC_TEST_CRASH_AT: `${point}@${batch}` } });
      assertKilledOnPurpose(crashed, `the run killed at ${point}@${batch}`);
      const rerun = await t.submit(small.path, topic);
      assert.equal(rerun.code, 0, rerun.stderr);
      const rec = recovered(rerun);
      if (point === 'before-batch') {
        assert.equal(rec, undefined, 'nothing was past the checkpoint, so nothing to recover');
      } else {
        assert.ok(rec && Number(rec.found_in_kafka) > 0, `the killed run had written past the checkpoint: ${JSON.stringify(rec)}`);
        assert.equal(rec!.method, 'merge', 'what Kafka held past the checkpoint was the batch\'s own prefix');
        if (point === 'after-ack') assert.equal(rec!.delta_written, 0, 'the whole batch was acknowledged: no delta');
        if (point === 'mid-batch') assert.ok(Number(rec!.delta_written) > 0, 'part of the batch was missing');
      }
      await t.assertExact(topic, small.keys);
      // The killed run's shuffle files went with the rerun's start, the rerun's with its exit.
      assert.deepEqual(fs.readdirSync(path.join(t.env.SPARK_SYNC_HOME, 'scratch')), []);
    });
  }
}

for (const batch of [1, 3]) {
  test(`SIGKILL during the recovery write of batch ${batch}, then rerun: still exactly once`, async () => {
    const topic = uniqueTopic(`recovery-write-${batch}`);
    const first = await t.submit(small.path, topic, [], { env: { SPARK_SYNC_TEST_CRASH_AT: `mid-batch@${batch}` } });
    assertKilledOnPurpose(first, `the run killed mid-batch ${batch}`);
    const second = await t.submit(small.path, topic, [], { env: { SPARK_SYNC_TEST_CRASH_AT: `recovery-write@${batch}` } });
    assertKilledOnPurpose(second, `the run killed during the recovery of batch ${batch}`);
    const third = await t.submit(small.path, topic);
    assert.equal(third.code, 0, third.stderr);
    assert.ok(recovered(third));
    await t.assertExact(topic, small.keys);
  });
}

test('--recovery full (the whole-file join) gives the same exact topic', async () => {
  const topic = uniqueTopic('full');
  const crashed = await t.submit(small.path, topic, [], { env: { SPARK_SYNC_TEST_CRASH_AT: 'mid-batch@2' } });
  assertKilledOnPurpose(crashed, 'the run killed mid-batch 2');
  const rerun = await t.submit(small.path, topic, ['--recovery', 'full']);
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.equal(recovered(rerun)?.mode, 'full');
  assert.equal(recovered(rerun)?.method, 'join');
  await t.assertExact(topic, small.keys);
});

test('a task that fails after writing part of its partition is retried: with no header on any record, it skips what its first attempt wrote and resends nothing else', async () => {
  const topic = uniqueTopic('task-retry');
  // local[2,4]: two threads, up to 4 attempts per task (plain local[N] never retries).
  const run = await t.submit(small.path, topic, ['--master', 'local[2,4]'], { env: { SPARK_SYNC_TEST_TASK_FAILURE_AT: '1' } });
  assert.equal(run.code, 0, run.stderr);
  const batch1 = run.logs.find((l) => l.msg === 'batch committed' && l.batch === 1)!;
  // The failed attempt wrote 300 records (the fault's count) and flushed them; a task beside it
  // whose unsent records the failure dropped is retried too. Records carry no header naming
  // their row, so each retry found its earlier attempt's records by their keys alone. It skipped
  // them all (no duplicate below) and resent nothing else (no row missing, no extra message).
  assert.ok(Number(batch1.skipped) >= 300, `the retried task skipped what its first attempt wrote: ${JSON.stringify(batch1)}`);
  const messages = await readTopic(t.broker.bootstrap, topic);
  assert.deepEqual(messages.filter((m) => Object.keys(m.headers).length > 0), [], 'no record carries a header');
  await t.assertExact(topic, small.keys);
});

/** The natural identities (--key-fields customer,quantity) of sample rows [0, rows), in first-row order. */
function sampleIdentities(rows: number): string[] {
  const ids = new Set<string>();
  for (let i = 0; i < rows; i++) {
    const f = sampleFields(i);
    ids.add(naturalKey([f[1], f[3]]));
  }
  return [...ids];
}

test('natural keys from Parquet, written straight from the reading tasks: replays send nothing, a SIGKILL mid-batch resumes by keys, a retried task skips what its first attempt wrote, and the index built from the plans stops a copy', async () => {
  const topic = uniqueTopic('natural-direct');
  const natural = ['--key-fields', 'customer,quantity', '--master', 'local[2,4]'];
  // Rows 0–4,999 first, under another name: their identities are replays when small.parquet comes.
  const early = sampleIdentities(5_000);
  const all = sampleIdentities(SMALL_ROWS);
  const seen = await t.sample('seen.parquet', 5_000, 262144);
  assert.equal(submitSummary(await t.submit(seen, topic, natural)).recordsSent, early.length);
  const killed = await t.submit(small.path, topic, natural, { env: { SPARK_SYNC_TEST_CRASH_AT: 'mid-batch@1' } });
  assertKilledOnPurpose(killed, 'small.parquet killed mid-batch 1');
  const rerun = await t.submit(small.path, topic, natural, { env: { SPARK_SYNC_TEST_TASK_FAILURE_AT: '2' } });
  const resumed = submitSummary(rerun);
  const rec = recovered(rerun);
  assert.ok(rec && Number(rec.found_in_kafka) >= 300, `the killed run had written part of batch 1: ${JSON.stringify(rec)}`);
  assert.equal(rec!.method, 'merge', 'each resumed task found its own records by their keys');
  const batch2 = rerun.logs.find((l) => l.msg === 'batch committed' && l.batch === 2)!;
  assert.ok(Number(batch2.skipped) >= 300, `the retried task skipped what its first attempt wrote: ${JSON.stringify(batch2)}`);
  const planned = rerun.logs.filter((l) => l.msg === 'batch committed' && l.index_from === 'plan');
  assert.deepEqual(planned.map((l) => l.batch), [2, 3], 'batches written by this run were indexed from their plan, not read back from Kafka');
  assert.ok(resumed.recordsSent > 0, 'the rerun sent the rest of the file');
  const status = JSON.parse((await t.cli(['status', '--checkpoint', t.checkpoint(topic), '--json'])).stdout.trim().split('\n').at(-1)!) as { files: Array<{ file_name: string; status: string; duplicate_records: number; replayed_records: number }> };
  assert.deepEqual(status.files.map((f) => [f.file_name, f.status, f.duplicate_records, f.replayed_records]),
    [['seen.parquet', 'COMPLETED', 5_000 - early.length, 0], ['small.parquet', 'COMPLETED', SMALL_ROWS - all.length, early.length]]);
  await t.assertExact(topic, new Set(all));
  // The index now holds every identity (batch 1's read back from Kafka, the others from the plans):
  // a copy under a third name sends nothing.
  const copy = path.join(path.dirname(small.path), 'copy', 'small-copy.parquet');
  fs.mkdirSync(path.dirname(copy), { recursive: true });
  fs.copyFileSync(small.path, copy);
  const replay = submitSummary(await t.submit(copy, topic, natural));
  assert.deepEqual({ sent: replay.recordsSent, replayed: replay.replayed }, { sent: 0, replayed: all.length });
  await t.assertExact(topic, new Set(all));
});

test('review 25.5/25.6: a resumed direct-write batch whose task meets a copy of one of its records fails with RESUME_MISMATCH on every attempt, so the rerun stops the job, falls back to the anti-join and keeps the anomaly (not exit 4 OFFSET_MISMATCH)', async () => {
  const topic = uniqueTopic('resume-retry');
  const crashed = await t.submit(small.path, topic, [], { env: { SPARK_SYNC_TEST_CRASH_AT: 'mid-batch@1' } });
  assertKilledOnPurpose(crashed, 'the crashed run');
  // Another producer copies one record of the cut-off batch into its partition.
  const cutOff = (await readTopic(t.broker.bootstrap, topic)).filter((m) => smallPositions.get(m.key)! >= SMALL_BATCH);
  assert.ok(cutOff.length > 0 && cutOff.length < SMALL_BATCH, `batch 1 was cut off mid-write (${cutOff.length} records)`);
  const copy = cutOff[0];
  const producer = new Kafka({ clientId: 'test-copier', brokers: [t.broker.bootstrap], logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ key: copy.key, value: copy.value, partition: copy.partition, headers: copy.headers }] });
  await producer.disconnect();
  // local[2,4]: a failed task is retried, up to 4 attempts; Spark reports the last one's error.
  const rerun = await t.submit(small.path, topic, ['--master', 'local[2,4]']);
  const errors = rerun.stderr.split('\n').filter((l) => l.startsWith('spark-sync: error'));
  process.stderr.write(`# 25.5: resume with a copied record, retries on: exit ${rerun.code}: ${errors[0] ?? ''}\n`);
  assert.equal(rerun.code, 4, rerun.stderr.slice(-1500));
  assert.equal(errors.length, 1, rerun.stderr.slice(-1500));
  assert.match(errors[0], /\[RECORDS_UNEXPECTED\].*holds 1 record\(s\)/);
  const fallback = rerun.logs.find((l) => l.msg === 'records past the checkpoint are not just the cut-off batch; recovering it with the anti-join');
  assert.ok(fallback, 'the resume fell back to the anti-join');
  assert.equal(fallback!.tasks_running_after_stop, 0, 'the failed job\'s tasks were stopped before the anti-join read its keys');
  const recovery = recovered(rerun);
  assert.deepEqual({ method: recovery?.method, unexpected: recovery?.unexpected_records }, { method: 'join', unexpected: 1 });
  const counts = tally(await readTopic(t.broker.bootstrap, topic), small.keys);
  assert.deepEqual({ missing: counts.missing, foreign: counts.foreign, duplicated: counts.duplicated, messages: counts.messages }, { missing: 0, foreign: 0, duplicated: 1, messages: SMALL_ROWS + 1 });
});

const testAdmin = () => new Kafka({ clientId: 'test-random-kill', brokers: [t.broker.bootstrap], logLevel: logLevel.NOTHING }).admin();

/**
 * SIGKILLs the run's process group once the topic holds `target` records in all, polling its end
 * offsets every 20 ms until `done()`: a kill placed by what Kafka holds, so it lands while a batch
 * is being written, wherever the time goes (start-up, planning, commits).
 */
async function killWhenTopicHolds(topic: string, target: number, kill: () => void, done: () => boolean): Promise<void> {
  const admin = testAdmin();
  await admin.connect();
  try {
    while (!done()) {
      if ((await messagesIn(admin, topic)) >= target) {
        kill();
        return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await admin.disconnect();
  }
}

async function topicTotal(topic: string): Promise<number> {
  const admin = testAdmin();
  await admin.connect();
  try {
    return await messagesIn(admin, topic);
  } finally {
    await admin.disconnect();
  }
}

test('SIGKILL at 10 random points across a 200,000-row file, reruns with other splits and parallelism: exact', async () => {
  // Each rerun reads the file with a different split size and thread count than the run before.
  const layouts = [
    ['--master', 'local[2]'],
    ['--master', 'local[1]', '--conf', 'spark.sql.files.maxPartitionBytes=262144'],
    ['--master', 'local[2]', '--conf', 'spark.sql.files.maxPartitionBytes=1048576'],
  ];
  let kills = 0;
  let recoveries = 0;
  let reruns = 0;
  let runs = 0;
  // Once a file is through, the next round syncs it again into a new topic, until 10 kills.
  for (let round = 1; kills < 10 && round <= 6; round++) {
    const topic = uniqueTopic(`random-kills-${round}`);
    const checkpoint = t.checkpoint(topic);
    let lastKilled = false;
    for (let attempt = 0; kills < 10 && attempt < 20; attempt++, runs++) {
      // A random point of the file past what the topic holds: 20–80 % into one of the next three
      // batches (after the one a rerun first recovers), so the kill lands mid-write, at a random
      // depth into the file and into the batch.
      const next = Math.ceil((await topicTotal(topic)) / RANDOM_BATCH) * RANDOM_BATCH;
      const target = next + Math.floor(Math.random() * 3) * RANDOM_BATCH + Math.floor((0.2 + Math.random() * 0.6) * RANDOM_BATCH);
      let ended = false;
      let killing: Promise<void> | undefined;
      const run = await t.submit(big.path, topic, layouts[runs % layouts.length], {
        batchSize: RANDOM_BATCH,
        onStart: (kill) => {
          if (target < BIG_ROWS) killing = killWhenTopicHolds(topic, target, kill, () => ended);
        },
      });
      ended = true;
      await killing;
      assert.equal(run.timedOut, false, `run ${runs} hung: ${run.stderr.slice(-800)}`);
      if (lastKilled) reruns++;
      if (recovered(run)) recoveries++;
      const progress = run.logs.filter((l) => l.msg === 'batch committed').pop()?.records_processed ?? '-';
      process.stderr.write(`# round ${round} run ${attempt}: ${run.signal ?? `exit ${run.code}`} at ${target < BIG_ROWS ? target : '-'} records in the topic, checkpoint at ${progress}, recovered: ${recovered(run) ? JSON.stringify(recovered(run)) : 'no'}\n`);
      lastKilled = run.signal === 'SIGKILL';
      if (lastKilled) kills++;
      else {
        assert.equal(run.code, 0, run.stderr);
        break;
      }
    }
    const final = await t.submit(big.path, topic, ['--master', 'local[2]'], { batchSize: RANDOM_BATCH });
    assert.equal(final.code, 0, final.stderr);
    if (lastKilled) reruns++;
    if (recovered(final)) recoveries++;
    const status = await t.cli(['status', '--checkpoint', checkpoint, '--json']);
    assert.equal((status.summary.files as Array<{ status: string }>)[0].status, 'COMPLETED');
    await t.assertExact(topic, big.keys);
  }
  assert.ok(kills >= 10, `killed ${kills} times`);
  process.stderr.write(`# random kills: ${kills}, reruns after a kill: ${reruns}, of which resumed a cut-off batch: ${recoveries}\n`);
  // The kills must really cut batches off, or this test would prove nothing about recovery.
  assert.ok(recoveries >= reruns / 2, `only ${recoveries} of ${reruns} reruns resumed a cut-off batch: the kills did not land mid-batch`);
});
