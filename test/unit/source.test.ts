import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatOf, formatSpec } from '../../src/config/source-format';

test('a file\'s format comes from its extension, behind any compression suffix', () => {
  const cases: Array<[string, string]> = [
    ['dt=2024-01-01/part-00000-1a2b.snappy.parquet', 'parquet'],
    ['x.parq', 'parquet'],
    ['part-00000.zlib.orc', 'orc'],
    ['events.CSV', 'csv'],
    ['events.csv.gz', 'csv'],
    ['events.jsonl', 'json'],
    ['events.ndjson.bz2', 'json'],
    ['a/b/events.json', 'json'],
  ];
  for (const [file, format] of cases) assert.equal(formatOf(file), format, file);
});

test('a file of unknown or no extension is refused with a hint to pass --format', () => {
  for (const file of ['readme.txt', 'data', 'archive.gz']) {
    assert.throws(() => formatOf(file), (err: Error & { code?: string; hint?: string }) => err.code === 'UNSUPPORTED_FORMAT' && /--format/.test(err.hint ?? ''), file);
  }
});

test('a CSV format spec carries its reader options, URL-encoded; other formats carry none', () => {
  assert.equal(formatSpec('csv', { header: true, delimiter: ';' }), 'csv?header=true&delimiter=%3B');
  assert.equal(formatSpec('csv', { header: false, delimiter: '\t' }), 'csv?header=false&delimiter=%09');
  assert.equal(formatSpec('orc', { header: true, delimiter: ';' }), 'orc');
});
