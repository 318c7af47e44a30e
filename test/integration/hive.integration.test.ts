import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { hashKey } from '../../src/index';
import { uniqueTopic } from '../helpers/broker-fixture';
import { useSyncFixture } from '../helpers/sync-fixture';
import { listTopics } from '../helpers/topic-reader';

/**
 * `hive:db.table` sources against Spark's Hive catalog with an embedded Derby metastore in a temp
 * folder (what spark-sync uses when no hive.metastore.uris is given). The tables are made by
 * Spark SQL in a child process; each partition is written by one task, so the rows of its one
 * file are in id order and the expected keys follow from the ids alone.
 */
const DAYS = ['2024-01-01', '2024-01-02', '2024-01-03'];
const DAY_ROWS = 2_000;
const FLAT_ROWS = 1_000;

const t = useSyncFixture({ partitions: 3 });

/** The one data file of a table folder (or partition folder), by its name. */
function dataFile(folder: string): string {
  const files = fs.readdirSync(folder).filter((f) => !f.startsWith('.') && !f.startsWith('_'));
  assert.equal(files.length, 1, `one data file in ${folder}: ${files.join(', ')}`);
  return files[0];
}

/** Keys of rows id = 0..rows-1 with `customer = c_<id>`, in a file known as `identity`. */
function keys(rows: number, identity: string): string[] {
  return Array.from({ length: rows }, (_, i) => hashKey([String(i), `c_${i}`], identity, i));
}

const table = (name: string) => path.join(t.env.SPARK_SYNC_HOME, 'warehouse', 'sales.db', name);

before(async () => {
  const home = t.env.SPARK_SYNC_HOME;
  const conf = [
    'spark.sql.catalogImplementation=hive',
    `spark.hadoop.javax.jdo.option.ConnectionURL=jdbc:derby:;databaseName=${path.join(home, 'metastore_db')};create=true`,
    `spark.sql.warehouse.dir=${path.join(home, 'warehouse')}`,
  ];
  const statements = [
    'CREATE DATABASE sales',
    'CREATE TABLE sales.events (id BIGINT, customer STRING) PARTITIONED BY (dt STRING) STORED AS PARQUET',
    ...DAYS.map((d) => `INSERT INTO sales.events PARTITION (dt = '${d}') SELECT /*+ COALESCE(1) */ id, concat('c_', id) FROM range(0, ${DAY_ROWS})`),
    'CREATE TABLE sales.flat (id BIGINT, customer STRING) USING orc',
    `INSERT INTO sales.flat SELECT /*+ COALESCE(1) */ id, concat('c_', id) FROM range(0, ${FLAT_ROWS})`,
  ];
  const task = path.resolve(__dirname, '..', 'helpers', 'hive-task.js');
  const r = spawnSync(process.execPath, [task, JSON.stringify({ conf, statements })], { env: { ...process.env, ...t.env }, encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr.slice(-3000));
});

test('a partitioned Hive table syncs exactly, each partition\'s file known by its path relative to the table', async () => {
  const topic = uniqueTopic('hive-all');
  const run = await t.submit('hive:sales.events', topic);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.summary.recordsSent, DAYS.length * DAY_ROWS);
  const ids = DAYS.map((d) => `dt=${d}/${dataFile(path.join(table('events'), `dt=${d}`))}`);
  await t.assertExact(topic, new Set(ids.flatMap((id) => keys(DAY_ROWS, id))));
  assert.deepEqual((run.summary.files as Array<Record<string, unknown>>).map((f) => f.file), ids);
});

test('--where selects partitions: only they are synced', async () => {
  const topic = uniqueTopic('hive-where');
  const run = await t.submit('hive:sales.events', topic, ['--where', "dt >= '2024-01-02' AND dt <> '2024-01-04'"]);
  assert.equal(run.code, 0, run.stderr);
  const ids = DAYS.slice(1).map((d) => `dt=${d}/${dataFile(path.join(table('events'), `dt=${d}`))}`);
  await t.assertExact(topic, new Set(ids.flatMap((id) => keys(DAY_ROWS, id))));
});

test('an unpartitioned ORC table syncs exactly', async () => {
  const topic = uniqueTopic('hive-flat');
  const run = await t.submit('hive:sales.flat', topic);
  assert.equal(run.code, 0, run.stderr);
  await t.assertExact(topic, new Set(keys(FLAT_ROWS, dataFile(table('flat')))));
});

test('a Hive source through the library (SparkSync.submit) gets the same metastore defaults as the CLI and syncs exactly', async () => {
  const topic = uniqueTopic('hive-library');
  const task = path.resolve(__dirname, '..', 'helpers', 'library-submit-task.js');
  const input = { open: { master: 'local[2]' }, submit: { source: 'hive:sales.flat', topic, bootstrapServer: t.broker.bootstrap, checkpoint: t.checkpoint(topic), createTopic: true, partitions: 3 } };
  const r = spawnSync(process.execPath, [task, JSON.stringify(input)], { env: { ...process.env, ...t.env }, encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr.slice(-3000)}`);
  const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as { recordsSent: number; fileRows: number };
  assert.equal(summary.recordsSent, FLAT_ROWS);
  assert.equal(summary.fileRows, 1);
  await t.assertExact(topic, new Set(keys(FLAT_ROWS, dataFile(table('flat')))));
  // The same bad input as through the CLI: the same code and exit code.
  const bad = spawnSync(process.execPath, [task, JSON.stringify({ ...input, submit: { ...input.submit, source: 'hive:sales.missing' } })], { env: { ...process.env, ...t.env }, encoding: 'utf8', timeout: 300_000 });
  assert.equal(bad.status, 2, bad.stderr.slice(-2000));
  assert.equal((JSON.parse(bad.stdout.trim().split('\n').pop()!) as { error: { code: string } }).error.code, 'SOURCE_UNREADABLE');
});

test('bad table names and predicates: exit 2, one clear line, nothing run', async () => {
  const topic = uniqueTopic('hive-bad');
  const cases: Array<{ source: string; extra: string[]; line: RegExp }> = [
    { source: 'hive:sales.events; DROP TABLE sales.flat', extra: [], line: /is not a table name/ },
    { source: 'hive:sales.missing', extra: [], line: /SOURCE_UNREADABLE.*Hive table sales\.missing does not exist/ },
    { source: 'hive:sales.events', extra: ['--where', "customer = 'c_1'"], line: /USAGE.*uses customer, which is not a partition column \(dt\)/ },
    { source: 'hive:sales.events', extra: ['--where', 'dt IN (SELECT customer FROM sales.flat)'], line: /USAGE.*holds a subquery/ },
    { source: 'hive:sales.events', extra: ['--where', "dt = '2024-01-01'; DROP TABLE sales.flat"], line: /USAGE.*--where is not a valid predicate/ },
    { source: 'hive:sales.flat', extra: ['--where', "dt = '1'"], line: /USAGE.*sales\.flat is not partitioned/ },
  ];
  for (const c of cases) {
    const run = await t.submit(c.source, topic, c.extra);
    assert.equal(run.code, 2, `${c.source} ${c.extra.join(' ')}: ${run.stderr}`);
    const errors = run.stderr.split('\n').filter((l) => l.startsWith('spark-sync: error'));
    assert.equal(errors.length, 1, run.stderr);
    assert.match(errors[0], c.line);
  }
  // --create-topic makes the topic only once the source is planned: none of these got that far.
  assert.equal((await listTopics(t.broker.bootstrap)).includes(topic), false, 'no topic was created');
  assert.ok(fs.existsSync(table('flat')), 'no statement ran');
});
