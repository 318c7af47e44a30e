import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { partitionOfKey } from '../../src/index';
import { startBroker, tempDir, uniqueTopic } from '../helpers/broker-fixture';
import { CliResult, runCli } from '../helpers/cli';
import { expectedSampleKeys, sampleFields } from '../helpers/sample-rows';
import { readTopic, tally } from '../helpers/topic-reader';

const ROWS = 20_000;
const PARTITIONS = 3;
const BATCH = 6_000;
const FILE = 'txn_2024_01_15.parquet';

let broker: Awaited<ReturnType<typeof startBroker>>;

async function listTopics(): Promise<string[]> {
  const admin = new Kafka({ clientId: 'dry-run-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return await admin.listTopics();
  } finally {
    await admin.disconnect();
  }
}
let dir: string;
let source: string;
let checkpoint: string;
let env: Record<string, string>;
const expectedKeys = expectedSampleKeys(ROWS, FILE);

function submit(topic: string, ...extra: string[]): Promise<CliResult> {
  return runCli(['submit', '--source', source, '--topic', topic, '--bootstrap-server', broker.bootstrap, '--checkpoint', checkpoint, '--batch-size', String(BATCH), ...extra], env);
}

before(async () => {
  broker = await startBroker();
  dir = tempDir();
  source = path.join(dir, FILE);
  checkpoint = path.join(dir, 'state', 'checkpoint.db');
  env = { SPARK_SYNC_HOME: path.join(dir, 'home') };
  // Small row groups, so a small maxPartitionBytes really splits the file (see the split test).
  const sample = await runCli(['sample', '--rows', String(ROWS), '--output', source, '--row-group-bytes', '65536'], env);
  assert.equal(sample.code, 0, sample.stderr);
});

after(async () => {
  await broker.stop();
});

test('submit lands every row once, keyed by its hash, in partition key mod P; a rerun sends nothing', async () => {
  const topic = uniqueTopic('submit');
  const run = await submit(topic, '--create-topic', '--partitions', String(PARTITIONS));
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.summary.recordsSent, ROWS);

  const messages = await readTopic(broker.bootstrap, topic);
  assert.deepEqual(tally(messages, new Set(expectedKeys)), { messages: ROWS, distinctKeys: ROWS, duplicated: 0, missing: 0, foreign: 0 });
  for (const m of messages) {
    const position = Number(m.headers['spark-sync.position']);
    assert.equal(m.key, expectedKeys[position], `key of row ${position}`);
    assert.equal(m.partition, partitionOfKey(m.key, PARTITIONS), `partition of row ${position}`);
    assert.equal(m.headers['spark-sync.file'], FILE);
    const value = JSON.parse(m.value) as Record<string, unknown>;
    assert.equal(value.id, position);
    assert.equal(value.customer, sampleFields(position)[1]);
  }
  // Each partition holds its records in position order: one task wrote it, sorted.
  for (let p = 0; p < PARTITIONS; p++) {
    const positions = messages.filter((m) => m.partition === p).sort((a, b) => a.offset - b.offset).map((m) => Number(m.headers['spark-sync.position']));
    assert.deepEqual(positions, [...positions].sort((a, b) => a - b), `partition ${p} in position order`);
  }

  const batches = run.logs.filter((l) => l.msg === 'batch committed');
  assert.deepEqual(batches.map((b) => b.records_processed), [6000, 12000, 18000, 20000]);

  const status = await runCli(['status', '--checkpoint', checkpoint, '--json'], env);
  assert.equal(status.code, 0, status.stderr);
  const record = (status.summary.files as Array<Record<string, unknown>>).find((f) => f.kafka_topic === topic)!;
  assert.equal(record.file_name, FILE);
  assert.equal(record.status, 'COMPLETED');
  assert.equal(record.records_processed, ROWS);
  assert.equal(record.total_records, ROWS);
  assert.equal(record.hash_algorithm, 'SHA-256');
  assert.ok(record.start_timestamp && record.completion_timestamp);
  const offsets = record.partition_offsets as Record<string, number>;
  assert.deepEqual(Object.keys(offsets), ['0', '1', '2']);
  for (let p = 0; p < PARTITIONS; p++) {
    assert.equal(offsets[String(p)], messages.filter((m) => m.partition === p).length, `checkpoint offset of partition ${p}`);
  }

  const table = await runCli(['status', '--checkpoint', checkpoint], env);
  assert.match(table.stdout, new RegExp(`${topic}\\s+${FILE.replace('.', '\\.')}\\s+COMPLETED\\s+20000/20000\\s+3`));

  const rerun = await submit(topic);
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.equal(rerun.summary.recordsSent, 0);
  assert.equal((await readTopic(broker.bootstrap, topic)).length, ROWS);
});

test('--dry-run shows the files, records and batches a submit would send, and writes nothing', async () => {
  const fresh = uniqueTopic('dry');
  const newCheckpoint = path.join(dir, 'dry', 'checkpoint.db');
  const planNew = await runCli(['submit', '--source', source, '--topic', fresh, '--bootstrap-server', broker.bootstrap, '--checkpoint', newCheckpoint, '--batch-size', String(BATCH), '--create-topic', '--dry-run'], env);
  assert.equal(planNew.code, 0, planNew.stderr);
  assert.deepEqual(planNew.summary.files, [{ file: FILE, format: 'parquet', status: 'NEW', totalRecords: ROWS, recordsProcessed: 0, toSend: ROWS, batches: Math.ceil(ROWS / BATCH) }]);
  assert.equal(fs.existsSync(newCheckpoint), false, 'no checkpoint was created');
  assert.equal(fs.existsSync(path.dirname(newCheckpoint)), false, 'not even its folder');
  const topics = await listTopics();
  assert.equal(topics.includes(fresh), false, '--create-topic did not create the topic');

  // Against a checkpoint where the file is done: nothing to send, and the checkpoint is untouched.
  const done = uniqueTopic('dry-done');
  assert.equal((await submit(done, '--create-topic')).code, 0);
  const before = fs.readFileSync(checkpoint);
  const planDone = await submit(done, '--dry-run');
  assert.equal(planDone.code, 0, planDone.stderr);
  assert.deepEqual((planDone.summary.files as Array<Record<string, unknown>>).map((f) => [f.status, f.toSend, f.batches]), [['COMPLETED', 0, 0]]);
  assert.equal(planDone.summary.recordsToSend, 0);
  assert.ok(fs.readFileSync(checkpoint).equals(before), 'checkpoint unchanged');
  assert.equal((await readTopic(broker.bootstrap, done)).length, ROWS);
});

test('keys do not move when Spark splits the file differently', async () => {
  const topic = uniqueTopic('split');
  const run = await submit(topic, '--create-topic', '--partitions', String(PARTITIONS), '--master', 'local[2]', '--conf', 'spark.sql.files.maxPartitionBytes=65536', '--conf', 'spark.sql.files.openCostInBytes=0');
  assert.equal(run.code, 0, run.stderr);
  const started = run.logs.find((l) => l.msg === 'starting file')!;
  assert.ok(Number(started.input_splits) > 1, `the file was read in ${started.input_splits} splits`);
  const messages = await readTopic(broker.bootstrap, topic);
  assert.deepEqual(tally(messages, new Set(expectedKeys)), { messages: ROWS, distinctKeys: ROWS, duplicated: 0, missing: 0, foreign: 0 });
});

test('bad input fails with one line and its exit code, and leaves the checkpoint as it was', async () => {
  const before = fs.readFileSync(checkpoint);
  const cases: Array<{ name: string; args: string[]; code: number; line: RegExp }> = [
    { name: 'missing source', args: ['--source', path.join(dir, 'nope.parquet'), '--topic', 'x', '--bootstrap-server', broker.bootstrap], code: 2, line: /SOURCE_UNREADABLE.*nope\.parquet does not exist/ },
    { name: 'unreachable broker', args: ['--source', source, '--topic', 'x', '--bootstrap-server', '127.0.0.1:1'], code: 3, line: /KAFKA_UNAVAILABLE.*127\.0\.0\.1:1 did not answer.*safe to retry/ },
    { name: 'missing topic', args: ['--source', source, '--topic', uniqueTopic('absent'), '--bootstrap-server', broker.bootstrap], code: 2, line: /TOPIC_NOT_FOUND.*does not exist.*--create-topic/ },
    { name: 'bad batch size', args: ['--source', source, '--topic', 'x', '--bootstrap-server', broker.bootstrap, '--batch-size', '0'], code: 2, line: /--batch-size must be at least 1/ },
    { name: 'unknown flag', args: ['--source', source, '--topic', 'x', '--bootstrap-server', broker.bootstrap, '--bogus'], code: 2, line: /unknown option '--bogus'/ },
  ];
  for (const c of cases) {
    const r = await runCli(['submit', '--checkpoint', checkpoint, ...c.args], env);
    assert.equal(r.code, c.code, `${c.name}: exit code; stderr: ${r.stderr}`);
    const errorLines = r.stderr.split('\n').filter((l) => /error/i.test(l));
    assert.equal(errorLines.length, 1, `${c.name}: one error line, got: ${r.stderr}`);
    assert.match(errorLines[0], c.line, c.name);
    assert.doesNotMatch(r.stderr, /^\s+at /m, `${c.name}: no stack trace`);
    assert.ok(r.seconds < 60, `${c.name}: took ${r.seconds} s`);
    assert.ok(fs.readFileSync(checkpoint).equals(before), `${c.name}: checkpoint unchanged`);
  }
});

test('reset forgets a file only when confirmed; the next submit resends it in full', async () => {
  const topic = uniqueTopic('reset');
  assert.equal((await submit(topic, '--create-topic')).code, 0);
  const before = fs.readFileSync(checkpoint);
  const filesBefore = ((await runCli(['status', '--checkpoint', checkpoint, '--json'], env)).summary.files as unknown[]).length;
  const refused = await runCli(['reset', '--file', FILE, '--topic', topic, '--checkpoint', checkpoint], env);
  assert.equal(refused.code, 2, 'no --yes and no terminal: refused');
  assert.match(refused.stderr, /pass --yes/);
  assert.ok(fs.readFileSync(checkpoint).equals(before), 'checkpoint unchanged');

  const reset = await runCli(['reset', '--file', FILE, '--topic', topic, '--checkpoint', checkpoint, '--yes'], env);
  assert.equal(reset.code, 0, reset.stderr);
  assert.deepEqual((reset.summary.reset as Array<Record<string, unknown>>).map((r) => [r.kafka_topic, r.file_name, r.status]), [[topic, FILE, 'COMPLETED']]);
  const status = await runCli(['status', '--checkpoint', checkpoint, '--json'], env);
  assert.equal((status.summary.files as Array<Record<string, unknown>>).filter((f) => f.kafka_topic === topic).length, 0);
  // Only that topic's file is gone; other topics' files (earlier tests) are untouched.
  assert.equal((status.summary.files as unknown[]).length, filesBefore - 1);

  const resent = await submit(topic);
  assert.equal(resent.code, 0, resent.stderr);
  assert.equal(resent.summary.recordsSent, ROWS);
  assert.equal((await readTopic(broker.bootstrap, topic)).length, 2 * ROWS);
});
