import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { hashKey, naturalKey, partitionOfMessageKey } from '../../src/index';
import { uniqueTopic } from '../helpers/broker-fixture';
import { assertKilledOnPurpose, submitSummary } from '../helpers/cli';
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
  submitSummary(first);
  assert.ok(first.logs.some((l) => String(l.msg).startsWith('the identity index lacked a committed batch')), 'the lost segment was rebuilt');
  await assertIdentities(topic, expected, (m) => m.key);
  const status = JSON.parse((await t.cli(['status', '--checkpoint', checkpoint, '--json'])).stdout.trim().split('\n').at(-1)!) as { files: Array<{ duplicate_records: number; replayed_records: number; key_fields: string[] }> };
  assert.equal(status.files[0].duplicate_records, DUPLICATES, 'the checkpoint counts the file\'s duplicates');
  assert.deepEqual(status.files[0].key_fields, ['user', 'event', 'ts']);

  // The same rows 10 more times, as 10 files under other names in another directory.
  const copies = path.join(t.dir, 'replays');
  for (let c = 0; c < COPIES; c++) writeCsv(path.join(copies, `extract-${c}.csv`), seedRows);
  const replays = submitSummary(await t.submit(copies, topic, natural, { partitions: null }));
  assert.deepEqual({ sent: replays.recordsSent, duplicates: replays.duplicates, replayed: replays.replayed }, { sent: 0, duplicates: COPIES * DUPLICATES, replayed: COPIES * DISTINCT });
  await assertIdentities(topic, expected, (m) => m.key);

  // An overlapping extract: every seed row plus 15 new ones at the end; killed after Kafka
  // acknowledged its last batch (the one holding the new rows), then rerun.
  const newRows = Array.from({ length: NEW_ROWS }, (_, i) => event(DISTINCT + i));
  const overlap = writeCsv(path.join(t.dir, 'landing-2', 'events-overlap.csv'), [...seedRows, ...newRows]);
  const lastBatch = Math.floor((seedRows.length + NEW_ROWS - 1) / BATCH);
  const killedAfterAck = await t.submit(overlap, topic, natural, { partitions: null, env: { SPARK_SYNC_TEST_CRASH_AT: `after-ack@${lastBatch}` } });
  assertKilledOnPurpose(killedAfterAck, 'the overlapping extract killed after its last batch was acknowledged');
  const overlapRun = submitSummary(await t.submit(overlap, topic, natural, { partitions: null }));
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

/**
 * Each identity's position in the file (the first, for a natural identity a file repeats): records
 * carry no position header by default, so a test finds a record's row by its spark-sync.id.
 */
function positionsById(ids: string[]): Map<string, number> {
  const positions = new Map<string, number>();
  ids.forEach((id, i) => {
    if (!positions.has(id)) positions.set(id, i);
  });
  return positions;
}

/** Asserts, per partition and message key, that positions grow with offsets: each key's file order. */
function assertPerKeyFileOrder(messages: TopicMessage[], positions: Map<string, number>): number {
  const sorted = [...messages].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  const last = new Map<string, number>();
  let checked = 0;
  for (const m of sorted) {
    const position = positions.get(m.headers['spark-sync.id'])!;
    assert.ok(position !== undefined, `the record at offset ${m.offset} of partition ${m.partition} has the identity of a row of the file`);
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

  const ids = rows.map((r, i) => hashKey(r, 'clicks.csv', i));
  const positions = positionsById(ids);
  const messages = await assertIdentities(topic, new Set(ids), (m) => m.headers['spark-sync.id']);
  for (const m of messages) {
    assert.deepEqual(Object.keys(m.headers), ['spark-sync.id'], 'no lineage headers by default');
    assert.equal(m.idBytes, 32, 'spark-sync.id is the identity\'s 32 raw digest bytes');
    const position = positions.get(m.headers['spark-sync.id'])!;
    assert.equal(m.key, rows[position][0], `the message key of position ${position} is its user`);
    assert.equal(m.partition, partitionOfMessageKey(m.key, PARTITIONS), `user ${m.key} is where Kafka's default partitioner puts it`);
  }
  // Every record but each user's first follows an earlier one of its user: all were checked.
  assert.equal(assertPerKeyFileOrder(messages, positions), rows.length - new Set(rows.map((r) => r[0])).size);
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
  const ids = rows.map((r, i) => hashKey(r, 'clicks.csv', i));
  const messages = await assertIdentities(topic, new Set(ids), (m) => m.headers['spark-sync.id']);
  assert.equal(assertPerKeyFileOrder(messages, positionsById(ids)), rows.length - new Set(rows.map((r) => r[0])).size);
});

test('--key-fields with --message-key: duplicates dropped, the natural identity in spark-sync.id, partitioned by user', async () => {
  const topic = uniqueTopic('natural-message-key');
  const csv = writeCsv(path.join(t.dir, 'natural-message-key', 'events.csv'), seedRows.slice(0, 5_000));
  const run = submitSummary(await t.submit(csv, topic, [...natural, '--message-key', 'user']));
  const expected = new Set(seedRows.slice(0, 5_000).map(identity));
  assert.equal(run.recordsSent, expected.size);
  assert.equal(run.duplicates, 5_000 - expected.size);
  const messages = await assertIdentities(topic, expected, (m) => m.headers['spark-sync.id']);
  for (const m of messages) assert.equal(m.partition, partitionOfMessageKey(m.key, PARTITIONS));
  assertPerKeyFileOrder(messages, positionsById(seedRows.slice(0, 5_000).map(identity)));
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

test('review 25.8: an identity-index segment whose records Kafka no longer holds (retention) stops a natural-key run with exit 4 and one line naming topic, partitions and offsets; nothing is sent', async () => {
  const topic = uniqueTopic('index-retention');
  const rows = distinctRows.slice(0, 4_000);
  const first = writeCsv(path.join(t.dir, 'retention', 'day-1.csv'), rows);
  submitSummary(await t.submit(first, topic, natural));
  // Retention removes the records (here: Kafka's DeleteRecords, which moves each partition's log
  // start as retention does), and the index folder is lost (a new machine, a wiped disk).
  const kafka = new Kafka({ brokers: [t.broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const before = await admin.fetchTopicOffsets(topic);
  await admin.deleteTopicRecords({ topic, partitions: before.map((o) => ({ partition: o.partition, offset: '-1' })) });
  await admin.disconnect();
  fs.rmSync(path.join(t.dir, 'identity-index', topic), { recursive: true, force: true });

  const second = writeCsv(path.join(t.dir, 'retention-2', 'day-2.csv'), rows.slice(0, 100));
  const run = await t.submit(second, topic, natural, { partitions: null });
  const errors = run.stderr.split('\n').filter((l) => l.startsWith('spark-sync: error'));
  process.stderr.write(`# 25.8: exit ${run.code}: ${errors[0] ?? run.stderr.slice(-300)}\n`);
  assert.equal(run.code, 4, run.stderr.slice(-1500));
  assert.equal(errors.length, 1, run.stderr);
  assert.match(errors[0], new RegExp(`\\[IDENTITY_INDEX_LOST\\].*of topic ${topic} lacks the identities of (a committed batch|committed batches) of day-1\\.csv, and Kafka no longer holds their records.*partition \\d+ offsets 0–\\d+ \\(it now starts at \\d+\\).*reset --file`));
  const after = await readTopic(t.broker.bootstrap, topic);
  assert.equal(after.length, 0, 'nothing was sent');
});

test('review 25.3: natural keys, another source synced into the topic while a file is cut off mid-batch: no identity is sent twice, and the cut-off file completes with the other\'s rows counted as replayed', async () => {
  const topic = uniqueTopic('interleave');
  const rows = distinctRows.slice(0, 9_000);
  const f = writeCsv(path.join(t.dir, 'interleave-1', 'f.csv'), rows);
  // S1's file F: SIGKILLed while batch 1 is being written.
  const killed = await t.submit(f, topic, natural, { env: { SPARK_SYNC_TEST_CRASH_AT: 'mid-batch@1' } });
  assertKilledOnPurpose(killed, 'F killed mid-batch 1');
  const written = await readTopic(t.broker.bootstrap, topic);
  const cutOff = written.length - BATCH;
  assert.ok(cutOff > 0 && cutOff < BATCH, `batch 1 was cut off mid-write (${cutOff} of its ${BATCH} records in Kafka)`);
  const byIdentity = new Map(rows.map((r) => [identity(r), r]));
  const batch0 = new Set(rows.slice(0, BATCH).map(identity));
  const cutOffRows = written.map((m) => m.key).filter((k) => !batch0.has(k)).slice(0, 50).map((k) => byIdentity.get(k)!);
  // S2: an overlapping extract, synced while F waits: 50 rows F's cut-off batch already wrote,
  // 100 of F's rows it has not reached yet (batch 2), and 100 new ones.
  const later = rows.slice(7_000, 7_100);
  const fresh = Array.from({ length: 100 }, (_, i) => event(DISTINCT + 100 + i));
  const g = writeCsv(path.join(t.dir, 'interleave-2', 'g.csv'), [...cutOffRows, ...later, ...fresh]);
  const other = await t.submit(g, topic, natural, { partitions: null });
  const gSummary = submitSummary(other);
  process.stderr.write(`# 25.3: S2 sent ${gSummary.recordsSent} and counted ${gSummary.replayed} replays\n`);
  assert.deepEqual({ sent: gSummary.recordsSent, replayed: gSummary.replayed }, { sent: later.length + fresh.length, replayed: cutOffRows.length }, 'S2 sent none of F\'s cut-off identities');
  // F again: it recovers its cut-off batch and completes, counting S2's 100 as replayed.
  const rerun = await t.submit(f, topic, natural, { partitions: null });
  const errors = rerun.stderr.split('\n').filter((l) => l.startsWith('spark-sync: error'));
  process.stderr.write(`# 25.3: F's rerun exit ${rerun.code}: ${errors[0] ?? 'ok'}\n`);
  const fSummary = submitSummary(rerun);
  assert.equal(fSummary.replayed, later.length, 'F counted the rows S2 sent first as replayed');
  const expected = new Set([...rows, ...fresh].map(identity));
  await assertIdentities(topic, expected, (m) => m.key);
  const status = JSON.parse((await t.cli(['status', '--checkpoint', t.checkpoint(topic), '--json'])).stdout.trim().split('\n').at(-1)!) as { files: Array<{ file_name: string; status: string; replayed_records: number; unexpected_records: number }> };
  assert.deepEqual(status.files.map((s) => [s.file_name, s.status, s.replayed_records, s.unexpected_records]), [['f.csv', 'COMPLETED', later.length, 0], ['g.csv', 'COMPLETED', cutOffRows.length, 0]]);
  const verify = await t.verify(topic);
  assert.equal(verify.code, 0, verify.stdout.slice(-1500) + verify.stderr.slice(-1500));
});
