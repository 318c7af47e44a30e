import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { canonicalText, hashKey, partitionOfKey } from '../../src/index';

interface Vector {
  fields: Array<string | null>;
  file: string;
  position: number;
  canonical: string;
  key: string;
  partition_of: Record<string, number>;
}

const ROOT = path.resolve(__dirname, '..', '..', '..');
const VENDORED = path.join(ROOT, 'test', 'fixtures', 'hash-vectors.json');
const SHARED = path.resolve(ROOT, '..', 'shared', 'spec', 'hash-vectors.json');
const cases = (JSON.parse(fs.readFileSync(VENDORED, 'utf8')) as { cases: Vector[] }).cases;

test('the vendored vectors are the shared spec, where the spec is beside the checkout', { skip: !fs.existsSync(SHARED) && 'no ../shared beside this checkout' }, () => {
  assert.deepEqual(JSON.parse(fs.readFileSync(VENDORED, 'utf8')), JSON.parse(fs.readFileSync(SHARED, 'utf8')));
});

test('canonical text, key and partition reproduce every hash vector', () => {
  assert.ok(cases.length >= 6);
  for (const c of cases) {
    assert.equal(canonicalText(c.fields, c.file, c.position), c.canonical);
    const key = hashKey(c.fields, c.file, c.position);
    assert.equal(key, c.key, `key of ${c.canonical}`);
    for (const [p, expected] of Object.entries(c.partition_of)) {
      assert.equal(partitionOfKey(key, Number(p)), expected, `${key} mod ${p}`);
    }
  }
});

test('NULL and the text \\N hash differently', () => {
  assert.notEqual(hashKey([null], 'x.csv', 0), hashKey(['\\N'], 'x.csv', 0));
});
