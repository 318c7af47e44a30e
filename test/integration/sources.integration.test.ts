import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { hashKey } from '../../src/index';
import { uniqueTopic } from '../helpers/broker-fixture';
import { CliResult, assertKilledOnPurpose } from '../helpers/cli';
import { expectedSampleKeys } from '../helpers/sample-rows';
import { useSyncFixture } from '../helpers/sync-fixture';
import { readTopic } from '../helpers/topic-reader';

/**
 * Real sources (DESIGN.md §2–3): directories planned into files known by their relative paths,
 * the four formats with positions that survive a crash, empty, corrupt and changed files.
 */
const FORMAT_ROWS = 3_000;
const FORMAT_BATCH = 1_000;
const DIR_ROWS = 5_000;

const t = useSyncFixture({ partitions: 3 });
/** A 5,000-row sample Parquet file, copied into the directories below. */
let parquet5k: string;

async function statusFiles(checkpoint: string): Promise<Array<Record<string, unknown>>> {
  const r = await t.cli(['status', '--checkpoint', checkpoint, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return r.summary.files as Array<Record<string, unknown>>;
}

function errorLine(run: CliResult): string {
  const errors = run.stderr.split('\n').filter((l) => l.startsWith('spark-sync: error'));
  assert.equal(errors.length, 1, run.stderr);
  return errors[0];
}

function place(file: string, content: string | Buffer = ''): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}

function copyInto(target: string): string {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.copyFileSync(parquet5k, target);
  return target;
}

// --- CSV and JSON lines written here, so the expected keys follow from the bytes alone. ---

/** CSV with a header, `;` between fields, an empty field (NULL) and quoted line breaks. */
function csvRows(rows: number): { text: string; fields: Array<Array<string | null>> } {
  const lines = ['id;name;note'];
  const fields: Array<Array<string | null>> = [];
  for (let i = 0; i < rows; i++) {
    const name = i % 10 === 3 ? null : i % 10 === 5 ? `n_${i}|x\\y` : `n_${i}`;
    const note = i % 50 === 7 ? `two\nlines; one field ${i}` : `plain ${i}`;
    lines.push([String(i), name ?? '', i % 50 === 7 ? `"${note}"` : note].join(';'));
    fields.push([String(i), name, note]);
  }
  return { text: lines.join('\n') + '\n', fields };
}

/** JSON lines; Spark infers the schema and orders its fields by name (amount, id, name). */
function jsonRows(rows: number): { text: string; fields: Array<Array<string | null>> } {
  const lines: string[] = [];
  const fields: Array<Array<string | null>> = [];
  for (let i = 0; i < rows; i++) {
    const amount = i % 4 === 1 ? null : i * 0.5;
    const name = i % 10 === 5 ? `n_${i}|x\\y` : `n_${i}`;
    lines.push(JSON.stringify({ id: i, name, amount }));
    // A double renders as Spark's CAST(double AS STRING): 2.0, 2.5.
    const amountText = amount === null ? null : Number.isInteger(amount) ? `${amount}.0` : String(amount);
    fields.push([amountText, String(i), name]);
  }
  return { text: lines.join('\n') + '\n', fields };
}

interface FormatCase {
  format: 'orc' | 'csv' | 'json';
  file: string;
  args: string[];
  keys: Set<string>;
}
const formatCases: FormatCase[] = [];

before(async () => {
  parquet5k = await t.sample('sample-5k.parquet', DIR_ROWS);

  const orc = path.join(t.dir, 'formats', 'events.orc');
  fs.mkdirSync(path.dirname(orc), { recursive: true });
  // Small stripes, so the file has several and an unsplit read still finds every row in order.
  await t.sample(orc, FORMAT_ROWS, 65536, 'orc');
  formatCases.push({ format: 'orc', file: orc, args: [], keys: new Set(expectedSampleKeys(FORMAT_ROWS, 'events.orc')) });

  const csv = csvRows(FORMAT_ROWS);
  const csvFile = place(path.join(t.dir, 'formats', 'events.csv'), csv.text);
  formatCases.push({ format: 'csv', file: csvFile, args: ['--csv-header', '--csv-delimiter', ';'], keys: new Set(csv.fields.map((f, i) => hashKey(f, 'events.csv', i))) });

  const json = jsonRows(FORMAT_ROWS);
  const jsonFile = place(path.join(t.dir, 'formats', 'events.jsonl'), json.text);
  formatCases.push({ format: 'json', file: jsonFile, args: [], keys: new Set(json.fields.map((f, i) => hashKey(f, 'events.jsonl', i))) });
});

test('a directory syncs file by file, known by relative path; hidden, _SUCCESS and .crc files are skipped; a rerun sends only new files', async () => {
  const root = path.join(t.dir, 'warehouse');
  const day1 = copyInto(path.join(root, 'dt=2024-01-01', 'part-00000.parquet'));
  copyInto(path.join(root, 'dt=2024-01-02', 'part-00000.parquet'));
  place(path.join(root, 'dt=2024-01-01', '_SUCCESS'));
  place(path.join(root, 'dt=2024-01-01', '.part-00000.parquet.crc'), 'not data');
  place(path.join(root, '_temporary', '0', 'part-00009.parquet'), 'not data');
  place(path.join(root, '.staging.parquet'), 'not data');
  const identities = ['dt=2024-01-01/part-00000.parquet', 'dt=2024-01-02/part-00000.parquet'];
  const keysOf = (ids: string[]) => new Set(ids.flatMap((id) => expectedSampleKeys(DIR_ROWS, id)));

  const topic = uniqueTopic('dir');
  const checkpoint = t.checkpoint(topic);
  // --lineage-headers: each record names its file and row (spark-sync itself needs neither).
  const first = await t.submit(root, topic, ['--lineage-headers']);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.summary.recordsSent, 2 * DIR_ROWS, 'identical bytes, different files: both sent');
  await t.assertExact(topic, keysOf(identities));
  const lineage = await readTopic(t.broker.bootstrap, topic);
  const files = new Set(lineage.map((m) => m.headers['spark-sync.file']));
  assert.deepEqual([...files].sort(), identities);
  const keysByFile = new Map(identities.map((id) => [id, expectedSampleKeys(DIR_ROWS, id)]));
  for (const m of lineage) {
    assert.equal(m.key, keysByFile.get(m.headers['spark-sync.file'])?.[Number(m.headers['spark-sync.position'])], 'the headers name the record\'s own file and row');
  }
  assert.deepEqual((await statusFiles(checkpoint)).map((f) => [f.file_name, f.status, f.records_processed, f.source_check]), identities.map((id) => [id, 'COMPLETED', DIR_ROWS, 'unchanged']));

  identities.push('dt=2024-01-03/part-00000.parquet');
  copyInto(path.join(root, identities[2]));
  const second = await t.submit(root, topic);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.summary.recordsSent, DIR_ROWS, 'only the new file');
  assert.deepEqual((second.summary.files as Array<Record<string, unknown>>).map((f) => f.status), ['SKIPPED', 'SKIPPED', 'COMPLETED']);
  await t.assertExact(topic, keysOf(identities));

  // A synced file rewritten is reported, not re-sent; the other files still sync.
  await t.sample(day1, DIR_ROWS + 1);
  identities.push('dt=2024-01-04/part-00000.parquet');
  copyInto(path.join(root, identities[3]));
  const third = await t.submit(root, topic);
  assert.equal(third.code, 4, third.stderr);
  assert.match(errorLine(third), /SOURCE_CHANGED.*dt=2024-01-01\/part-00000\.parquet changed after it was synced.*reset --file/);
  await t.assertExact(topic, keysOf(identities));
  const status = await statusFiles(checkpoint);
  assert.deepEqual(status.map((f) => f.source_check), ['changed', 'unchanged', 'unchanged', 'unchanged']);
  const table = await t.cli(['status', '--checkpoint', checkpoint]);
  assert.match(table.stdout, /dt=2024-01-01\/part-00000\.parquet\s+COMPLETED, SOURCE CHANGED/);

  // The operator resyncs it deliberately.
  const reset = await t.cli(['reset', '--file', identities[0], '--topic', topic, '--checkpoint', checkpoint, '--yes']);
  assert.equal(reset.code, 0, reset.stderr);
  const fourth = await t.submit(root, topic);
  assert.equal(fourth.code, 0, fourth.stderr);
  assert.equal(fourth.summary.recordsSent, DIR_ROWS + 1);
  const messages = await readTopic(t.broker.bootstrap, topic);
  assert.equal(messages.length, 4 * DIR_ROWS + DIR_ROWS + 1, 'the old copy of day 1 stays in the topic, plus its new rows');
});

for (const c of [0, 1, 2]) {
  test(`format ${['orc', 'csv', 'json'][c]}: a sync lands every row once, keyed by its position in file order`, async () => {
    const f = formatCases[c];
    const topic = uniqueTopic(`fmt-${f.format}`);
    const run = await t.submit(f.file, topic, ['--batch-size', String(FORMAT_BATCH), ...f.args]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.summary.recordsSent, FORMAT_ROWS);
    await t.assertExact(topic, f.keys);
    const messages = await readTopic(t.broker.bootstrap, topic);
    const row7 = messages.find((m) => m.key === [...f.keys][7])!;
    const value = JSON.parse(row7.value) as Record<string, unknown>;
    if (f.format === 'csv') assert.equal(value.note, 'two\nlines; one field 7', 'a quoted line break stays inside its field');
    else assert.equal(Number(value.id), 7);
  });

  test(`format ${['orc', 'csv', 'json'][c]}: SIGKILL mid-file, then rerun: every row exactly once`, async () => {
    const f = formatCases[c];
    const topic = uniqueTopic(`fmt-crash-${f.format}`);
    const args = ['--batch-size', String(FORMAT_BATCH), ...f.args];
    const crashed = await t.submit(f.file, topic, args, { env: { SPARK_SYNC_TEST_CRASH_AT: 'mid-batch@1' } });
    assertKilledOnPurpose(crashed, 'the crashed run');
    const rerun = await t.submit(f.file, topic, args);
    assert.equal(rerun.code, 0, rerun.stderr);
    const rec = rerun.logs.find((l) => l.msg === 'recovered a batch cut off by a crash');
    assert.ok(rec && Number(rec.found_in_kafka) > 0 && Number(rec.delta_written) > 0, JSON.stringify(rec));
    await t.assertExact(topic, f.keys);
  });
}

test('a file cut off by a crash is not resumed under other reader options: exit 2, checkpoint unchanged', async () => {
  const f = formatCases[1];
  const topic = uniqueTopic('csv-options');
  const checkpoint = t.checkpoint(topic);
  const crashed = await t.submit(f.file, topic, ['--batch-size', String(FORMAT_BATCH), ...f.args], { env: { SPARK_SYNC_TEST_CRASH_AT: 'after-ack@1' } });
  assertKilledOnPurpose(crashed, 'the crashed run');
  const before = await statusFiles(checkpoint);
  const rerun = await t.submit(f.file, topic, ['--batch-size', String(FORMAT_BATCH), '--csv-header', '--csv-delimiter', ',']);
  assert.equal(rerun.code, 2, rerun.stderr);
  assert.match(errorLine(rerun), /events\.csv was started as csv\?header=true&delimiter=%3B but is now read as csv\?header=true&delimiter=%2C/);
  assert.deepEqual(await statusFiles(checkpoint), before);
});

test('empty files end COMPLETED with 0 records', async () => {
  const root = path.join(t.dir, 'empty');
  const zeroRows = path.join(root, 'none.parquet');
  fs.mkdirSync(root, { recursive: true });
  await t.sample(zeroRows, 0);
  place(path.join(root, 'none.csv'));
  place(path.join(root, 'none.jsonl'));
  const topic = uniqueTopic('empty');
  const checkpoint = t.checkpoint(topic);
  const run = await t.submit(root, topic);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.summary.recordsSent, 0);
  assert.deepEqual((await statusFiles(checkpoint)).map((f) => [f.file_name, f.status, f.records_processed, f.total_records]), [
    ['none.csv', 'COMPLETED', 0, 0],
    ['none.jsonl', 'COMPLETED', 0, 0],
    ['none.parquet', 'COMPLETED', 0, 0],
  ]);
  assert.equal((await readTopic(t.broker.bootstrap, topic)).length, 0);
});

test('a corrupt file stops the run with exit 2, naming it; the other files\' checkpoints stay as they were', async () => {
  const root = path.join(t.dir, 'with-corrupt');
  copyInto(path.join(root, 'a.parquet'));
  copyInto(path.join(root, 'c.parquet'));
  const topic = uniqueTopic('corrupt');
  const checkpoint = t.checkpoint(topic);
  assert.equal((await t.submit(root, topic)).code, 0);
  const before = await statusFiles(checkpoint);
  place(path.join(root, 'b.parquet'), 'this is not a Parquet file, whatever its name says\n');
  const run = await t.submit(root, topic);
  assert.equal(run.code, 2, run.stderr);
  assert.match(errorLine(run), /SOURCE_UNREADABLE.*b\.parquet/);
  assert.doesNotMatch(run.stderr, /^\s+at /m, 'no stack trace');
  assert.deepEqual(await statusFiles(checkpoint), before);
  assert.equal((await readTopic(t.broker.bootstrap, topic)).length, 2 * DIR_ROWS);
});

test('an unknown format, a bad table name, --format or --where where they do not apply: exit 2, one clear line, nothing written', async () => {
  const root = path.join(t.dir, 'with-notes');
  copyInto(path.join(root, 'x.parquet'));
  place(path.join(root, 'readme.txt'), 'notes\n');
  const topic = uniqueTopic('unknown');
  const checkpoint = t.checkpoint(topic);
  const cases: Array<{ args: string[]; line: RegExp }> = [
    { args: [root], line: /UNSUPPORTED_FORMAT.*readme\.txt.*'\.txt'.*--format/ },
    { args: [root, '--format', 'xml'], line: /--format must be one of: parquet, orc, csv, json/ },
    { args: ['hive:db.t; DROP TABLE x'], line: /USAGE.*hive:db\.t; DROP TABLE x is not a table name/ },
    { args: ['hive:db.t', '--format', 'orc'], line: /--format does not apply to a Hive table/ },
    { args: [root, '--where', "dt = '1'"], line: /--where selects partitions of a Hive table/ },
  ];
  for (const c of cases) {
    const run = await t.submit(c.args[0], topic, c.args.slice(1));
    assert.equal(run.code, 2, run.stderr);
    assert.match(errorLine(run), c.line);
  }
  assert.equal(fs.existsSync(checkpoint) ? (await statusFiles(checkpoint)).length : 0, 0);
});
