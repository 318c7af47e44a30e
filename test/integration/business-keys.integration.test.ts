import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { hashKey, naturalKey, partitionOfMessageKey } from '../../src/index';
import { uniqueTopic } from '../helpers/broker-fixture';
import { CliResult, assertKilledOnPurpose } from '../helpers/cli';
import { useSyncFixture } from '../helpers/sync-fixture';
import { TopicMessage, readTopic } from '../helpers/topic-reader';

/**
 * Business keys (DESIGN.md §3): the natural-key identity (`--key-fields`), which drops duplicates
 * inside a file and replays across files and runs, and the business message key
 * (`--message-key`), which partitions as Kafka's default partitioner does and keeps each key's
 * records in file order. Topics are read back by an independent kafkajs consumer; crashes are
 * real SIGKILLs of the CLI.
 */
const PARTITIONS = 3;
const BATCH = 3_000;
const DISTINCT = 10_000;
const DUPLICATES = 1_000;
const COPIES = 10;
const NEW_ROWS = 15;

const t = useSyncFixture({ partitions: PARTITIONS, batchSize: BATCH });

/** One event row: user, event, ts (all text: CSV columns are strings), plus a payload. */
type Row = [user: string, event: string, ts: string, amount: string];

function event(i: number): Row {
  const seconds = String(i % 60).padStart(2, '0');
  const minutes = String(Math.floor(i / 60) % 60).padStart(2, '0');
  return [`u${i % 997}`, `ev${i % 13}`, `2024-01-15 ${String(Math.floor(i / 3600)).padStart(2, '0')}:${minutes}:${seconds}`, String((i * 7) % 1000)];
}

/** 10,000 distinct events and 1,000 exact copies of some of them, interleaved (a duplicate may precede its first). */
const distinctRows: Row[] = Array.from({ length: DISTINCT }, (_, i) => event(i));
const seedRows: Row[] = [...distinctRows];
for (let d = 0; d < DUPLICATES; d++) seedRows.splice((d * 11 + 5) % seedRows.length, 0, distinctRows[(d * 7919) % DISTINCT]);
const identity = (r: Row) => naturalKey([r[0], r[1], r[2]]);

function writeCsv(file: string, rows: Row[]): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, ['user,event,ts,amount', ...rows.map((r) => r.join(','))].join('\n') + '\n');
  return file;
}

const seed = { csv: '' };
before(() => {
  seed.csv = writeCsv(path.join(t.dir, 'landing', 'events.csv'), seedRows);
});

function summaryOf(run: CliResult): { recordsSent: number; duplicates: number; replayed: number } {
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { recordsSent: number; duplicates: number; replayed: number };
}

function tallyByKey(messages: TopicMessage[], keyOf: (m: TopicMessage) => string) {
  const seen = new Map<string, number>();
  for (const m of messages) seen.set(keyOf(m), (seen.get(keyOf(m)) ?? 0) + 1);
  return { messages: messages.length, distinct: seen.size, duplicated: [...seen.values()].filter((n) => n > 1).length, keys: new Set(seen.keys()) };
}

async function assertIdentities(topic: string, expected: Set<string>, keyOf: (m: TopicMessage) => string): Promise<TopicMessage[]> {
  const messages = await readTopic(t.broker.bootstrap, topic);
  const found = tallyByKey(messages, keyOf);
  const missing = [...expected].filter((k) => !found.keys.has(k)).length;
  const foreign = [...found.keys].filter((k) => !expected.has(k)).length;
  assert.deepEqual({ messages: found.messages, distinct: found.distinct, duplicated: found.duplicated, missing, foreign },
    { messages: expected.size, distinct: expected.size, duplicated: 0, missing: 0, foreign: 0 }, `the topic ${topic} holds each identity once`);
  return messages;
}

const natural = ['--csv-header', '--key-fields', 'user,event,ts'];

test('the seed: duplicates in a file are dropped, 10 replays under other names send nothing, an overlapping extract sends only its 15 new rows, and SIGKILLs change none of it', async () => {
  const started = Date.now();
  const topic = uniqueTopic('seed');
  const checkpoint = t.checkpoint(topic);
  const expected = new Set(distinctRows.map(identity));
  assert.equal(expected.size, DISTINCT);

  // First sync, killed twice: mid-write of batch 1, then after batch 2's checkpoint commit but
  // before its identity-index segment (the index must be rebuilt from Kafka, or the replays
  // below would resend batch 2's rows).
  const killedMid = await t.submit(seed.csv, topic, natural, { env: { SPARK_SYNC_TEST_CRASH_AT: 'mid-batch@1' } });
  assertKilledOnPurpose(killedMid, 'the first sync killed mid-batch 1');
  const killedBeforeIndex = await t.submit(seed.csv, topic, natural, { env: { SPARK_SYNC_TEST_CRASH_AT: 'before-index@2' } });
  assertKilledOnPurpose(killedBeforeIndex, 'the rerun killed before batch 2\'s index segment');
  const first = await t.submit(seed.csv, topic, natural);
  summaryOf(first);
  assert.ok(first.logs.some((l) => String(l.msg).startsWith('the identity index lacked a committed batch')), 'the lost segment was rebuilt');
  await assertIdentities(topic, expected, (m) => m.key);
  const status = JSON.parse((await t.cli(['status', '--checkpoint', checkpoint, '--json'])).stdout.trim().split('\n').at(-1)!) as { files: Array<{ duplicate_records: number; replayed_records: number; key_fields: string[] }> };
  assert.equal(status.files[0].duplicate_records, DUPLICATES, 'the checkpoint counts the file\'s duplicates');
  assert.deepEqual(status.files[0].key_fields, ['user', 'event', 'ts']);

  // The same rows 10 more times, as 10 files under other names in another directory.
  const copies = path.join(t.dir, 'replays');
  for (let c = 0; c < COPIES; c++) writeCsv(path.join(copies, `extract-${c}.csv`), seedRows);
  const replays = summaryOf(await t.submit(copies, topic, natural, { partitions: null }));
  assert.deepEqual({ sent: replays.recordsSent, duplicates: replays.duplicates, replayed: replays.replayed }, { sent: 0, duplicates: COPIES * DUPLICATES, replayed: COPIES * DISTINCT });
  await assertIdentities(topic, expected, (m) => m.key);

  // An overlapping extract: every seed row plus 15 new ones at the end; killed after Kafka
  // acknowledged its last batch (the one holding the new rows), then rerun.
  const newRows = Array.from({ length: NEW_ROWS }, (_, i) => event(DISTINCT + i));
  const overlap = writeCsv(path.join(t.dir, 'landing-2', 'events-overlap.csv'), [...seedRows, ...newRows]);
  const lastBatch = Math.floor((seedRows.length + NEW_ROWS - 1) / BATCH);
  const killedAfterAck = await t.submit(overlap, topic, natural, { partitions: null, env: { SPARK_SYNC_TEST_CRASH_AT: `after-ack@${lastBatch}` } });
  assertKilledOnPurpose(killedAfterAck, 'the overlapping extract killed after its last batch was acknowledged');
  const overlapRun = summaryOf(await t.submit(overlap, topic, natural, { partitions: null }));
  assert.equal(overlapRun.recordsSent, 0, 'the killed run had sent the 15; the rerun recovered them, sending nothing more');
  for (const r of newRows) expected.add(identity(r));
  await assertIdentities(topic, expected, (m) => m.key);

  const verify = await t.verify(topic);
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  const report = JSON.parse(verify.stdout.trim().split('\n').at(-1)!) as { naturalKeys: Array<{ sourceIdentities: number; messages: number; missing: number; duplicated: number; foreign: number; files: string[] }> };
  assert.deepEqual(report.naturalKeys.map((n) => ({ ...n, files: n.files.length })).map(({ sourceIdentities, messages, missing, duplicated, foreign, files }) => ({ sourceIdentities, messages, missing, duplicated, foreign, files })),
    [{ sourceIdentities: DISTINCT + NEW_ROWS, messages: DISTINCT + NEW_ROWS, missing: 0, duplicated: 0, foreign: 0, files: COPIES + 2 }]);
  console.log(`# seed test wall time: ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

/** Asserts, per partition and message key, that positions grow with offsets: each key's file order. */
function assertPerKeyFileOrder(messages: TopicMessage[]): number {
  const sorted = [...messages].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  const last = new Map<string, number>();
  let checked = 0;
  for (const m of sorted) {
    const position = Number(m.headers['spark-sync.position']);
    const before = last.get(m.key);
    if (before !== undefined) {
      assert.ok(position > before, `key ${m.key}: position ${position} at offset ${m.offset} of partition ${m.partition} follows position ${before}`);
      checked++;
    }
    last.set(m.key, position);
  }
  return checked;
}

/** 9,000 distinct rows synced with --message-key user, SIGKILLed at `crashAt`, then rerun (with `rerunArgs`). */
async function killedThenRerun(name: string, crashAt: string, rerunArgs: string[] = []) {
  const topic = uniqueTopic(name);
  const rows = distinctRows.slice(0, 9_000);
  const csv = writeCsv(path.join(t.dir, name, 'clicks.csv'), rows);
  const args = ['--csv-header', '--message-key', 'user'];
  const killed = await t.submit(csv, topic, args, { env: { SPARK_SYNC_TEST_CRASH_AT: crashAt } });
  assertKilledOnPurpose(killed, `the sync killed at ${crashAt}`);
  const rerun = await t.submit(csv, topic, [...args, ...rerunArgs]);
  assert.equal(rerun.code, 0, rerun.stderr);
  const recovered = rerun.logs.find((l) => l.msg === 'recovered a batch cut off by a crash');
  return { topic, rows, csv, args, recovered };
}

test('--message-key user: the key is the user, the partition Kafka\'s default partitioner\'s, the identity in spark-sync.id, each user in file order across batches and a crash recovery', async () => {
  const { topic, rows, csv, args, recovered } = await killedThenRerun('message-key', 'mid-batch@1');
  assert.ok(Number(recovered?.found_in_kafka) > 0, 'the killed run had written part of batch 1');
  assert.equal(recovered?.method, 'merge', 'the ordered write left each partition a prefix of the batch, which the rerun merged');

  const expected = new Set(rows.map((r, i) => hashKey(r, 'clicks.csv', i)));
  const messages = await assertIdentities(topic, expected, (m) => m.headers['spark-sync.id']);
  for (const m of messages) {
    const position = Number(m.headers['spark-sync.position']);
    assert.equal(m.key, rows[position][0], `the message key of position ${position} is its user`);
    assert.equal(m.partition, partitionOfMessageKey(m.key, PARTITIONS), `user ${m.key} is where Kafka's default partitioner puts it`);
  }
  // Every record but each user's first follows an earlier one of its user: all were checked.
  assert.equal(assertPerKeyFileOrder(messages), rows.length - new Set(rows.map((r) => r[0])).size);
  const verify = await t.verify(topic);
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);

  // The file started under --message-key user; resuming it under other key options is refused.
  const other = uniqueTopic('message-key-changed');
  const cut = await t.submit(csv, other, args, { env: { SPARK_SYNC_TEST_CRASH_AT: 'after-ack@0' } });
  assertKilledOnPurpose(cut, 'the sync killed after batch 0');
  const changed = await t.submit(csv, other, ['--csv-header']);
  assert.equal(changed.code, 2, changed.stderr);
  assert.match(changed.stderr, /\[KEY_MODE_CHANGED\].*clicks\.csv was started with no --key-fields and --message-key user; this run asks for no --key-fields and no --message-key/);
});

test('--message-key through the anti-join recovery (--recovery full): identities read from the spark-sync.id headers, exact and in per-key order', async () => {
  const { topic, rows, recovered } = await killedThenRerun('message-key-join', 'mid-batch@2', ['--recovery', 'full']);
  assert.equal(recovered?.method, 'join', 'the full recovery joined the file against the identities in Kafka');
  assert.ok(Number(recovered?.found_in_kafka) > 0 && Number(recovered?.delta_written) > 0, JSON.stringify(recovered));
  const messages = await assertIdentities(topic, new Set(rows.map((r, i) => hashKey(r, 'clicks.csv', i))), (m) => m.headers['spark-sync.id']);
  assert.equal(assertPerKeyFileOrder(messages), rows.length - new Set(rows.map((r) => r[0])).size);
});

test('--key-fields with --message-key: duplicates dropped, the natural identity in spark-sync.id, partitioned by user', async () => {
  const topic = uniqueTopic('natural-message-key');
  const csv = writeCsv(path.join(t.dir, 'natural-message-key', 'events.csv'), seedRows.slice(0, 5_000));
  const run = summaryOf(await t.submit(csv, topic, [...natural, '--message-key', 'user']));
  const expected = new Set(seedRows.slice(0, 5_000).map(identity));
  assert.equal(run.recordsSent, expected.size);
  assert.equal(run.duplicates, 5_000 - expected.size);
  const messages = await assertIdentities(topic, expected, (m) => m.headers['spark-sync.id']);
  for (const m of messages) assert.equal(m.partition, partitionOfMessageKey(m.key, PARTITIONS));
  assertPerKeyFileOrder(messages);
});

test('a NULL --message-key column is refused with exit 2, naming file and position, before anything is sent', async () => {
  const topic = uniqueTopic('null-key');
  const rows = distinctRows.slice(0, 100).map((r, i): Row => (i === 42 ? ['', r[1], r[2], r[3]] : r));
  const csv = writeCsv(path.join(t.dir, 'null-key', 'users.csv'), rows);
  const run = await t.submit(csv, topic, ['--csv-header', '--message-key', 'user']);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /\[NULL_MESSAGE_KEY\].*position 42 of users\.csv has NULL in its --message-key column\(s\) user; nothing of the file was sent/);
  const kafka = new Kafka({ brokers: [t.broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    assert.equal(offsets.reduce((n, o) => n + Number(o.high), 0), 0, 'the topic holds nothing');
  } finally {
    await admin.disconnect();
  }
});
