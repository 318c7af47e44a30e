import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { uniqueTopic } from '../helpers/broker-fixture';
import { useSyncFixture } from '../helpers/sync-fixture';
import { readTopic } from '../helpers/topic-reader';

/**
 * What an operator sees: the Spark UI (on, as with spark-submit), whose REST API names each job
 * (file, batch, rows), and `preview`, whose keys and partitions are the ones a submit sends.
 */
const ROWS = 400_000;
const BATCH = 50_000;

const t = useSyncFixture({ partitions: 3, batchSize: BATCH, timeoutMs: 240_000 });
let source = '';

before(async () => {
  source = await t.sample('ui.parquet', ROWS, 1 << 20);
});

interface SparkJob {
  jobId: number;
  description?: string;
  status: string;
}

test('the Spark UI is on, its URL is logged, and its REST API names each job: file, batch i/n, rows', async () => {
  const topic = uniqueTopic('ui');
  let seen: SparkJob[] = [];
  let uiUrl = '';
  const polls: Array<Promise<void>> = [];
  const run = await t.submit(source, topic, [], {
    // Read the REST API while the sync runs: after the second batch commits, the first jobs are
    // done and the next batch's is running or about to.
    onLog: {
      msg: 'spark session started: local[*], Spark 3.5.7',
      run: (line) => {
        uiUrl = String(line.ui_url);
        polls.push((async () => {
          for (let i = 0; i < 600 && seen.filter((j) => /batch [3-8]\/8/.test(j.description ?? '')).length < 2; i++) {
            await new Promise((r) => setTimeout(r, 100));
            try {
              const apps = (await (await fetch(`${uiUrl}/api/v1/applications`)).json()) as Array<{ id: string }>;
              seen = (await (await fetch(`${uiUrl}/api/v1/applications/${apps[0].id}/jobs`)).json()) as SparkJob[];
            } catch {
              /* the UI may not answer yet */
            }
          }
        })());
      },
    },
  });
  await Promise.all(polls);
  assert.equal(run.code, 0, run.stderr.slice(-1500));
  const session = run.logs.find((l) => l.msg === 'spark session started: local[*], Spark 3.5.7')!;
  assert.match(String(session.ui_url), /^http:\/\/[\w.-]+:40\d\d$/, 'the UI URL is logged, on 4040 or the next free port');
  const descriptions = seen.map((j) => j.description ?? '');
  process.stderr.write(`# Spark UI jobs seen during the sync: ${descriptions.length}, e.g. ${JSON.stringify(descriptions.slice(0, 3))}\n`);
  assert.ok(descriptions.includes('spark-sync: ui.parquet (counting its rows)'), JSON.stringify(descriptions));
  assert.ok(descriptions.some((d) => d === 'spark-sync: ui.parquet batch 1/8 (rows 0–50,000)'), JSON.stringify(descriptions));
  assert.ok(descriptions.some((d) => /^spark-sync: ui\.parquet batch [3-8]\/8 \(rows \d{3},000–\d{3},000\)$/.test(d)), JSON.stringify(descriptions));
});

test('--conf spark.ui.enabled=false turns the UI off', async () => {
  const topic = uniqueTopic('no-ui');
  const small = await t.sample('no-ui.parquet', 1_000);
  const run = await t.submit(small, topic, ['--conf', 'spark.ui.enabled=false']);
  assert.equal(run.code, 0, run.stderr.slice(-1500));
  assert.equal(run.logs.find((l) => l.msg === 'spark session started: local[*], Spark 3.5.7')?.ui_url, '(disabled)');
});

test('preview shows the keys and partitions a submit sends: JSON lines, --json, and the same records in the topic', async () => {
  const small = await t.sample('preview.parquet', 5_000);
  const lines = await t.cli(['preview', '--source', small, '--rows', '25', '--topic-partitions', '3']);
  assert.equal(lines.code, 0, lines.stderr.slice(-1500));
  // Not a terminal: one JSON line per record.
  const records = lines.stdout.trim().split('\n').map((l) => JSON.parse(l) as { position: number; key: string; partition: number; fields: Record<string, string | null> });
  assert.equal(records.length, 25);
  assert.deepEqual(records.map((r) => r.position), [...Array(25).keys()]);
  assert.ok(records.every((r) => /^[0-9a-f]{64}$/.test(r.key) && r.partition >= 0 && r.partition < 3 && Object.keys(r.fields).length > 0));
  const doc = await t.cli(['preview', '--source', small, '--rows', '25', '--topic-partitions', '3', '--json']);
  assert.equal(doc.code, 0, doc.stderr.slice(-800));
  assert.deepEqual(doc.summary.records, records);

  const topic = uniqueTopic('preview');
  const run = await t.submit(small, topic);
  assert.equal(run.code, 0, run.stderr.slice(-1500));
  const byKey = new Map((await readTopic(t.broker.bootstrap, topic)).map((m) => [m.key, m]));
  for (const r of records) {
    const m = byKey.get(r.key);
    assert.ok(m, `previewed key of position ${r.position} is in the topic`);
    assert.equal(m!.partition, r.partition, `position ${r.position}: previewed partition`);
    assert.equal(Number(JSON.parse(m!.value).id), r.position, `position ${r.position}: the previewed row's record`);
  }
  // Bad input: the same message and exit code as submit's flags.
  const bad = await t.cli(['preview', '--source', small, '--rows', '0']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--rows/);
});
