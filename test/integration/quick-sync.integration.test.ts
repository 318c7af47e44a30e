import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { uniqueTopic } from '../helpers/broker-fixture';
import { expectedSampleKeys } from '../helpers/sample-rows';
import { useSyncFixture } from '../helpers/sync-fixture';

/**
 * The end-to-end check of `npm run test:quick`: the CLI syncs a file into a real broker with real
 * Spark, every row lands once, a rerun sends nothing, and verify finds the topic clean.
 */
const ROWS = 20_000;
const t = useSyncFixture({ partitions: 3, batchSize: 8_000 });
let source = '';

before(async () => {
  source = await t.sample('quick.parquet', ROWS);
});

test('quick: a file syncs exactly, a rerun sends nothing, verify is clean', async () => {
  const topic = uniqueTopic('quick');
  const first = await t.submit(source, topic);
  assert.equal(first.code, 0, first.stderr.slice(-1500));
  assert.equal(first.summary.recordsSent, ROWS);
  await t.assertExact(topic, new Set(expectedSampleKeys(ROWS, 'quick.parquet')));
  const rerun = await t.submit(source, topic);
  assert.equal(rerun.code, 0, rerun.stderr.slice(-1500));
  assert.equal(rerun.summary.recordsSent, 0);
  const verify = await t.verify(topic);
  assert.equal(verify.code, 0, verify.stderr.slice(-1500));
});
