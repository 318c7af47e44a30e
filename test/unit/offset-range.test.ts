import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countsIn, mergeRanges, recordsIn } from '../../src/kafka/offset-range';

test('consecutive ranges join into one, a gap (another file\'s records) keeps them apart, empty ones go', () => {
  const b0 = { from: [0, 0, 0], to: [3, 4, 0] };
  const b1 = { from: [3, 4, 0], to: [6, 4, 2] };
  const empty = { from: [6, 4, 2], to: [6, 4, 2] };
  // Another file wrote partition 0 from 6 to 9; this file's next batch starts there.
  const b2 = { from: [9, 4, 2], to: [12, 5, 2] };
  assert.deepEqual(mergeRanges([b0, b1, empty, b2]), [{ from: [0, 0, 0], to: [6, 4, 2] }, b2]);
  assert.equal(recordsIn([b0, b1, b2]), 7 + 5 + 4);
  assert.deepEqual(countsIn([b0, b1, b2], 3), [9, 5, 2]);
});

test('a range empty in a partition joins whatever the other holds there', () => {
  const a = { from: [0, 5], to: [2, 5] };
  const b = { from: [7, 5], to: [9, 8] };
  // Partition 0 has a gap (2..7): not one range.
  assert.equal(mergeRanges([a, b]).length, 2);
  const c = { from: [2, 10], to: [4, 12] };
  // Partition 1: a is empty there, so c's [10, 12) is all; partition 0 continues.
  assert.deepEqual(mergeRanges([a, c]), [{ from: [0, 10], to: [4, 12] }]);
});
