import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import sqlite3 from 'sqlite3';
import { freePort } from '../../src/dev/dev-broker';
import { partitionOfKey } from '../../src/index';
import { uniqueTopic } from '../helpers/broker-fixture';
import { CliResult } from '../helpers/cli';
import { expectedSampleKeys, sampleFields } from '../helpers/sample-rows';
import { useSyncFixture } from '../helpers/sync-fixture';
import { listTopics, readTopic, tally } from '../helpers/topic-reader';

const ROWS = 20_000;
const PARTITIONS = 3;
const BATCH = 6_000;
const FILE = 'txn_2024_01_15.parquet';

const t = useSyncFixture({ batchSize: BATCH });

/** Every file's and batch's checkpoint row, read-only. */
function checkpointContent(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (err) => {
      if (err) return reject(err);
      db.all('SELECT * FROM files ORDER BY kafka_topic, file_name', (e1, files) => {
        db.all('SELECT * FROM batches ORDER BY kafka_topic, file_name, batch_index', (e2, batches) => {
          db.close();
          if (e1 || e2) reject(e1 ?? e2);
          else resolve(JSON.stringify({ files, batches }));
        });
      });
    });
  });
}

let source: string;
/** One checkpoint for every topic of this file. */
let checkpoint: string;
const expectedKeys = expectedSampleKeys(ROWS, FILE);

/** The sample file into `topic`, in batches of BATCH rows, with this file's one checkpoint. */
function submit(topic: string, ...extra: string[]): Promise<CliResult> {
  return t.submit(source, topic, extra, { checkpoint });
}

before(async () => {
  checkpoint = path.join(t.dir, 'state', 'checkpoint.db');
  // Small row groups, so a small maxPartitionBytes really splits the file (see the split test).
  source = await t.sample(FILE, ROWS, 65536);
});

test('submit lands every row once, keyed by its hash, in partition key mod P; a rerun sends nothing', async () => {
  const topic = uniqueTopic('submit');
  const run = await submit(topic, '--create-topic', '--partitions', String(PARTITIONS));
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.summary.recordsSent, ROWS);

  const messages = await readTopic(t.broker.bootstrap, topic);
  assert.deepEqual(tally(messages, new Set(expectedKeys)), { messages: ROWS, distinctKeys: ROWS, duplicated: 0, missing: 0, foreign: 0 });
  // A record is its key and value alone, as Spark's own sink writes it (no --lineage-headers).
  const positions = new Map(expectedKeys.map((k, i) => [k, i]));
  const positionOf = (m: { key: string }) => positions.get(m.key)!;
  for (const m of messages) {
    const position = positionOf(m);
    assert.deepEqual(m.headers, {}, `row ${position} carries no header`);
    assert.equal(m.partition, partitionOfKey(m.key, PARTITIONS), `partition of row ${position}`);
    const value = JSON.parse(m.value) as Record<string, unknown>;
    assert.equal(value.id, position);
    assert.equal(value.customer, sampleFields(position)[1]);
  }
  // Each partition holds its records in position order: one task wrote it, sorted.
  for (let p = 0; p < PARTITIONS; p++) {
    const positions = messages.filter((m) => m.partition === p).sort((a, b) => a.offset - b.offset).map(positionOf);
    assert.deepEqual(positions, [...positions].sort((a, b) => a - b), `partition ${p} in position order`);
  }

  const batches = run.logs.filter((l) => l.msg === 'batch committed');
  assert.deepEqual(batches.map((b) => b.records_processed), [6000, 12000, 18000, 20000]);

  const status = await t.cli(['status', '--checkpoint', checkpoint, '--json']);
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

  const table = await t.cli(['status', '--checkpoint', checkpoint]);
  assert.match(table.stdout, new RegExp(`${topic}\\s+${FILE.replace('.', '\\.')}\\s+COMPLETED\\s+20000/20000\\s+0\\s+0\\s+3`));

  const rerun = await submit(topic);
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.equal(rerun.summary.recordsSent, 0);
  assert.equal((await readTopic(t.broker.bootstrap, topic)).length, ROWS);
});

test('at a terminal a live progress bar; otherwise JSON lines with timestamps and no control characters', async () => {
  // util-linux `script` gives the CLI a real pseudo-terminal for stdout and stderr, 80 columns wide.
  const topic = uniqueTopic('tty');
  const cmd = ['node', path.resolve(__dirname, '..', '..', '..', 'bin', 'spark-sync.js'), 'submit', '--source', source, '--topic', topic,
    '--bootstrap-server', t.broker.bootstrap, '--checkpoint', path.join(t.dir, 'tty.db'), '--create-topic', '--batch-size', String(BATCH)].join(' ');
  const tty = spawnSync('script', ['-qfec', `stty cols 80 rows 24; ${cmd}`, '/dev/null'], { env: { ...process.env, ...t.env }, encoding: 'utf8', timeout: 120_000 });
  assert.equal(tty.status, 0, tty.stdout);
  const screen = tty.stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
  assert.match(screen, /\[[█░]{12}\] 100% \| file 1\/1 \| batch 4\/4 \| 20000\/20000 \| [\d,]+ rec\/s \| ETA \d+s/);
  assert.match(screen, /\d\d:\d\d:\d\d info  starting file/, 'text logs above the bar');

  const piped = await t.cli(['submit', '--source', source, '--topic', uniqueTopic('json'), '--bootstrap-server', t.broker.bootstrap, '--checkpoint', path.join(t.dir, 'json.db'), '--create-topic', '--batch-size', String(BATCH)]);
  assert.equal(piped.code, 0, piped.stderr);
  const lines = piped.stderr.trim().split('\n');
  assert.doesNotMatch(piped.stderr + piped.stdout, /[\x00-\x08\x0b-\x1f\x7f]/, 'no control characters');
  // Every line is one of spark-sync's JSON events: Spark's and Kafka's own logs (plain text) stay
  // quiet without --verbose, or JSON.parse would fail here.
  for (const line of lines) {
    const event = JSON.parse(line) as { time?: string; level?: number; msg?: string };
    assert.match(event.time ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, line);
  }
  const msgs = piped.logs.map((l) => l.msg);
  assert.equal(msgs.filter((m) => m === 'batch committed').length, 4, 'one event per batch');
  assert.equal(msgs.filter((m) => m === 'file completed').length, 1, 'one event per file');
});

test('--dry-run shows the files, records and batches a submit would send, and writes nothing', async () => {
  const fresh = uniqueTopic('dry');
  const newCheckpoint = path.join(t.dir, 'dry', 'checkpoint.db');
  const planNew = await t.cli(['submit', '--source', source, '--topic', fresh, '--bootstrap-server', t.broker.bootstrap, '--checkpoint', newCheckpoint, '--batch-size', String(BATCH), '--create-topic', '--dry-run']);
  assert.equal(planNew.code, 0, planNew.stderr);
  assert.deepEqual(planNew.summary.files, [{ file: FILE, format: 'parquet', status: 'NEW', totalRecords: ROWS, recordsProcessed: 0, toSend: ROWS, batches: Math.ceil(ROWS / BATCH) }]);
  assert.equal(fs.existsSync(newCheckpoint), false, 'no checkpoint was created');
  assert.equal(fs.existsSync(path.dirname(newCheckpoint)), false, 'not even its folder');
  const topics = await listTopics(t.broker.bootstrap);
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
  assert.equal((await readTopic(t.broker.bootstrap, done)).length, ROWS);
});

test('keys do not move when Spark splits the file differently', async () => {
  const topic = uniqueTopic('split');
  const run = await submit(topic, '--create-topic', '--partitions', String(PARTITIONS), '--master', 'local[2]', '--conf', 'spark.sql.files.maxPartitionBytes=65536', '--conf', 'spark.sql.files.openCostInBytes=0');
  assert.equal(run.code, 0, run.stderr);
  const started = run.logs.find((l) => l.msg === 'starting file')!;
  assert.ok(Number(started.input_splits) > 1, `the file was read in ${started.input_splits} splits`);
  const messages = await readTopic(t.broker.bootstrap, topic);
  assert.deepEqual(tally(messages, new Set(expectedKeys)), { messages: ROWS, distinctKeys: ROWS, duplicated: 0, missing: 0, foreign: 0 });
});

test('bad input fails with one line and its exit code, and leaves the checkpoint as it was', async () => {
  const notData = path.join(t.dir, 'notes.parquet');
  fs.writeFileSync(notData, 'this is a text file, not Parquet\n');
  // A corrupt checkpoint (garbage bytes) and a foreign one (a SQLite file of another program):
  // both must be refused and left byte for byte as they were, never overwritten or recreated.
  const corrupt = path.join(t.dir, 'corrupt.db');
  fs.writeFileSync(corrupt, Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(4096, 0xab)]));
  const foreign = path.join(t.dir, 'foreign.db');
  await new Promise<void>((resolve, reject) => {
    const db = new sqlite3.Database(foreign, (err) => (err ? reject(err) : db.exec('CREATE TABLE users (id INTEGER, name TEXT); INSERT INTO users VALUES (1, \'a\');', (e) => db.close(() => (e ? reject(e) : resolve())))));
  });
  const silentNamenode = net.createServer((socket) => socket.on('data', () => undefined)).listen(0, '127.0.0.1');
  await new Promise((resolve) => silentNamenode.once('listening', resolve));
  const silentPort = (silentNamenode.address() as net.AddressInfo).port;
  const closedPort = await freePort();
  const props = path.join(t.dir, 'bad.properties');
  fs.writeFileSync(props, 'security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n');
  const yaml = path.join(t.dir, 'bad.yaml');
  fs.writeFileSync(yaml, 'bootstrap-servers: x:1\n');

  const ok = ['--source', source, '--topic', 'x', '--bootstrap-server', t.broker.bootstrap];
  // --create-topic on these: a run that fails on its source or checkpoint must not leave a topic.
  const neverCreated = [uniqueTopic('hdfs'), uniqueTopic('hdfs'), uniqueTopic('cp'), uniqueTopic('cp')];
  const cases: Array<{ name: string; args: string[]; code: number; line: RegExp; checkpoint?: string; maxSeconds?: number }> = [
    { name: 'unknown flag', args: [...ok, '--bogus'], code: 2, line: /unknown option '--bogus'/ },
    { name: 'flag without its value', args: [...ok, '--batch-size'], code: 2, line: /option '--batch-size <rows>' argument missing/ },
    { name: 'malformed batch size', args: [...ok, '--batch-size', '12k'], code: 2, line: /--batch-size must be a whole number/ },
    { name: 'bad batch size', args: [...ok, '--batch-size', '0'], code: 2, line: /--batch-size must be at least 1/ },
    { name: 'malformed bootstrap server', args: ['--source', source, '--topic', 'x', '--bootstrap-server', 'kafka1'], code: 2, line: /--bootstrap-server 'kafka1' is not a list of host:port/ },
    { name: 'bad topic name', args: ['--source', source, '--topic', 'a/b', '--bootstrap-server', t.broker.bootstrap], code: 2, line: /--topic must be 1–249 characters/ },
    { name: 'missing source', args: ['--source', path.join(t.dir, 'nope.parquet'), '--topic', 'x', '--bootstrap-server', t.broker.bootstrap], code: 2, line: /SOURCE_UNREADABLE.*nope\.parquet does not exist/ },
    { name: 'not a data file', args: ['--source', notData, '--topic', uniqueTopic('notdata'), '--bootstrap-server', t.broker.bootstrap, '--create-topic'], code: 2, line: /SOURCE_UNREADABLE.*notes\.parquet/ },
    { name: 'invalid table name', args: ['--source', 'hive:sales.t; DROP TABLE x', '--topic', 'x', '--bootstrap-server', t.broker.bootstrap], code: 2, line: /is not a table name/ },
    { name: 'unreachable broker', args: ['--source', source, '--topic', 'x', '--bootstrap-server', `127.0.0.1:${closedPort}`], code: 3, line: /KAFKA_UNAVAILABLE.*did not answer.*safe to retry/, maxSeconds: 30 },
    { name: 'unreachable HDFS (port closed)', args: ['--source', `hdfs://127.0.0.1:${closedPort}/data/x.parquet`, '--topic', neverCreated[0], '--bootstrap-server', t.broker.bootstrap, '--create-topic'], code: 3, line: /SOURCE_UNAVAILABLE.*did not answer.*safe to retry/, maxSeconds: 40 },
    { name: 'HDFS that accepts and never answers', args: ['--source', `hdfs://127.0.0.1:${silentPort}/data/x.parquet`, '--topic', neverCreated[1], '--bootstrap-server', t.broker.bootstrap, '--create-topic'], code: 3, line: /SOURCE_UNAVAILABLE.*SocketTimeoutException.*safe to retry/, maxSeconds: 75 },
    { name: 'missing topic', args: ['--source', source, '--topic', uniqueTopic('absent'), '--bootstrap-server', t.broker.bootstrap], code: 2, line: /TOPIC_NOT_FOUND.*does not exist.*--create-topic/ },
    { name: 'incomplete --kafka-config', args: [...ok, '--kafka-config', props], code: 2, line: /--kafka-config .*bad\.properties has no sasl\.jaas\.config/ },
    { name: 'unknown key in --config', args: [...ok, '--config', yaml], code: 2, line: /bad\.yaml: unknown setting 'bootstrap-servers'/ },
    { name: 'corrupt checkpoint', args: [...ok.slice(0, 2), '--topic', neverCreated[2], '--bootstrap-server', t.broker.bootstrap, '--create-topic'], checkpoint: corrupt, code: 2, line: /CHECKPOINT_INVALID.*corrupt\.db/ },
    { name: 'foreign checkpoint', args: [...ok.slice(0, 2), '--topic', neverCreated[3], '--bootstrap-server', t.broker.bootstrap, '--create-topic'], checkpoint: foreign, code: 2, line: /CHECKPOINT_INVALID.*foreign\.db.*not a spark-sync checkpoint/ },
  ];
  try {
    for (const c of cases) {
      const file = c.checkpoint ?? checkpoint;
      // The sync state (files and batches) of the real checkpoint; the bytes of a corrupt or
      // foreign one. A run that got as far as the writer lease did write the lease row.
      const content = () => (c.checkpoint ? fs.readFileSync(file).toString('base64') : checkpointContent(file));
      const before = await content();
      const r = await t.cli(['submit', '--checkpoint', file, ...c.args]);
      assert.equal(r.code, c.code, `${c.name}: exit code; stderr: ${r.stderr}`);
      const errorLines = r.stderr.split('\n').filter((l) => /error/i.test(l));
      assert.equal(errorLines.length, 1, `${c.name}: one error line, got: ${r.stderr}`);
      assert.match(errorLines[0], c.line, c.name);
      assert.doesNotMatch(r.stderr, /^\s+at /m, `${c.name}: no stack trace`);
      assert.equal(r.summary.ok, false, `${c.name}: the summary line says it failed`);
      assert.ok(r.seconds < (c.maxSeconds ?? 60), `${c.name}: took ${r.seconds} s`);
      assert.deepEqual(await content(), before, `${c.name}: checkpoint unchanged`);
    }
    const topics = await listTopics(t.broker.bootstrap);
    assert.deepEqual(neverCreated.filter((t) => topics.includes(t)), [], 'no topic created for a run that failed before its first file');
    // status and reset refuse the corrupt and foreign checkpoints the same way, and leave them.
    for (const file of [corrupt, foreign]) {
      const before = fs.readFileSync(file);
      for (const args of [['status'], ['reset', '--all', '--yes']]) {
        const r = await t.cli([...args, '--checkpoint', file]);
        assert.equal(r.code, 2, `${args[0]} ${file}: ${r.stderr}`);
        assert.match(r.stderr, /CHECKPOINT_INVALID/);
      }
      const doctor = await t.cli(['doctor', '--checkpoint', file]);
      assert.equal(doctor.code, 2, doctor.stderr);
      const checks = doctor.summary.checks as Array<{ name: string; ok: boolean; detail: string }>;
      assert.deepEqual(checks.map((c) => [c.name, c.ok]), [['java', true], ['jars', true], ['bridge', true], ['checkpoint', false]]);
      assert.match(checks[3].detail, /CHECKPOINT_INVALID|not a spark-sync checkpoint|not a SQLite database|damaged/);
      assert.ok(fs.readFileSync(file).equals(before), `${file} unchanged by status, reset and doctor`);
    }
    const healthy = await t.cli(['doctor', '--bootstrap-server', t.broker.bootstrap, '--checkpoint', checkpoint]);
    assert.equal(healthy.code, 0, healthy.stderr);
    assert.deepEqual((healthy.summary.checks as Array<{ name: string; ok: boolean }>).map((c) => [c.name, c.ok]), [['java', true], ['jars', true], ['bridge', true], ['kafka', true], ['checkpoint', true]]);
    const down = await t.cli(['doctor', '--bootstrap-server', `127.0.0.1:${closedPort}`]);
    assert.equal(down.code, 3, down.stderr);
  } finally {
    silentNamenode.close();
  }

  // --verbose adds the Java cause after the one line.
  const verbose = await t.cli(['--verbose', 'submit', '--checkpoint', checkpoint, '--source', notData, '--topic', uniqueTopic('notdata'), '--bootstrap-server', t.broker.bootstrap, '--create-topic']);
  assert.equal(verbose.code, 2);
  assert.match(verbose.stderr, /^java: \S+Exception/m);
});

test('reset forgets a file only when confirmed; the next submit resends it in full', async () => {
  const topic = uniqueTopic('reset');
  assert.equal((await submit(topic, '--create-topic')).code, 0);
  const before = fs.readFileSync(checkpoint);
  const filesBefore = ((await t.cli(['status', '--checkpoint', checkpoint, '--json'])).summary.files as unknown[]).length;
  const refused = await t.cli(['reset', '--file', FILE, '--topic', topic, '--checkpoint', checkpoint]);
  assert.equal(refused.code, 2, 'no --yes and no terminal: refused');
  assert.match(refused.stderr, /pass --yes/);
  assert.ok(fs.readFileSync(checkpoint).equals(before), 'checkpoint unchanged');

  const reset = await t.cli(['reset', '--file', FILE, '--topic', topic, '--checkpoint', checkpoint, '--yes']);
  assert.equal(reset.code, 0, reset.stderr);
  assert.deepEqual((reset.summary.reset as Array<Record<string, unknown>>).map((r) => [r.kafka_topic, r.file_name, r.status]), [[topic, FILE, 'COMPLETED']]);
  const status = await t.cli(['status', '--checkpoint', checkpoint, '--json']);
  assert.equal((status.summary.files as Array<Record<string, unknown>>).filter((f) => f.kafka_topic === topic).length, 0);
  // Only that topic's file is gone; other topics' files (earlier tests) are untouched.
  assert.equal((status.summary.files as unknown[]).length, filesBefore - 1);

  const resent = await submit(topic);
  assert.equal(resent.code, 0, resent.stderr);
  assert.equal(resent.summary.recordsSent, ROWS);
  assert.equal((await readTopic(t.broker.bootstrap, topic)).length, 2 * ROWS);
});
