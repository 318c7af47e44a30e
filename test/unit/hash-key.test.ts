import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Partitioners } from 'kafkajs';
import { canonicalText, hashKey, naturalCanonicalText, naturalKey, partitionOfKey } from '../../src/index';

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

interface NaturalVector {
  fields: Array<string | null>;
  canonical: string;
  key: string;
}

interface MessageKeyVector {
  key: string;
  partition_of: Record<string, number>;
}

const natural = JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'natural-key-vectors.json'), 'utf8')) as {
  cases: NaturalVector[];
  message_key_partitions: MessageKeyVector[];
};

test('natural canonical text and key reproduce every natural-key vector', () => {
  assert.ok(natural.cases.length >= 8);
  for (const c of natural.cases) {
    assert.equal(naturalCanonicalText(c.fields), c.canonical);
    assert.equal(naturalKey(c.fields), c.key, `natural key of ${c.canonical}`);
  }
});

test('a natural key hashes neither file nor position, so it is not the positional key of the same fields', () => {
  const fields = ['u42', 'click', '2024-01-15 09:15:23'];
  assert.notEqual(naturalKey(fields), hashKey(fields, 'events.parquet', 0));
  assert.notEqual(naturalKey(['a|b', 'c']), naturalKey(['a', 'b|c']));
  assert.notEqual(naturalKey(['', 'x']), naturalKey(['x']));
});

test("kafkajs's default partitioner, Java-compatible, puts every message key where the vectors say", () => {
  assert.ok(natural.message_key_partitions.length >= 8);
  const partitioner = Partitioners.DefaultPartitioner();
  for (const v of natural.message_key_partitions) {
    for (const [p, expected] of Object.entries(v.partition_of)) {
      const partitionMetadata = Array.from({ length: Number(p) }, (_, i) => ({ partitionErrorCode: 0, partitionId: i, leader: 0, replicas: [0], isr: [0] }));
      const actual = partitioner({ topic: 'natural-keys', partitionMetadata, message: { key: Buffer.from(v.key, 'utf8'), value: null } });
      assert.equal(actual, expected, `partition of ${JSON.stringify(v.key)} mod ${p}`);
    }
  }
});
