import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SparkSyncError } from '../../src/index';
import type { PartitionWrite } from '../../src/spark/spark-jobs';
import { assertRowsAccounted } from '../../src/sync/offsets';

const write = (partition: number, records: number, sent: number, skipped: number, deadLettered = 0): PartitionWrite => ({ partition, records, sent, skipped, deadLettered, replayed: 0 });

test('a batch commits only when sent + skipped + dead-lettered rows equal its size', () => {
  // 10 rows: 4 sent, 3 skipped as already in Kafka, 1 dead-lettered, 2 more sent elsewhere.
  assertRowsAccounted('t', 'f.parquet', 100, 110, [write(0, 7, 4, 3, 1), write(1, 2, 2, 0)]);
  // The reader gave one row too few (a dropped split): exit 4, nothing committed.
  assert.throws(() => assertRowsAccounted('t', 'f.parquet', 100, 110, [write(0, 7, 4, 3, 1), write(1, 1, 1, 0)]), (e: SparkSyncError) => {
    assert.equal(e.code, 'ROWS_UNACCOUNTED');
    assert.equal(e.exitCode, 4);
    assert.match(e.oneLine(), /the batch of rows 100–110 of f\.parquet has 10 rows, but the writing tasks accounted for 9 \(5 sent, 3 already in t, 1 dead-lettered\); nothing was committed/);
    return true;
  });
  // A task whose counts do not add up (records in Kafka ≠ sent + skipped) is refused too.
  assert.throws(() => assertRowsAccounted('t', 'f.parquet', 0, 5, [write(0, 4, 4, 0, 1), write(1, 1, 0, 0)]), /ROWS_UNACCOUNTED|accounted for/);
});
