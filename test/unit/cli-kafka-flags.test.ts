import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { kafkaConnection } from '../../src/config/kafka-connection';
import { parseSubmitConfig } from '../../src/config/submit-config';
import { SparkSyncError } from '../../src/errors/spark-sync-error';
import { resolvedSubmitOptions as submitOptions } from '../helpers/submit-options';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spark-sync-kafka-flags-'));
const jaas = (user: string, password: string) => `org.apache.kafka.common.security.scram.ScramLoginModule required username="${user}" password="${password}";`;

function file(name: string, text: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
}

const clientProperties = file('client.properties', `security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\nsasl.jaas.config=${jaas('file-user', 'file-pw')}\ncompression.type=gzip\n`);

function runBin(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SPARK_SYNC_')));
  const bin = path.resolve(__dirname, '..', '..', '..', 'bin', 'spark-sync.js');
  const r = spawnSync(process.execPath, [bin, ...args], { env: { ...env, SPARK_SYNC_HOME: path.join(dir, 'home') }, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('-X properties are merged over the --kafka-config file, a -X key winning, for kafkajs and for Spark alike', () => {
  const conn = kafkaConnection({ bootstrapServer: 'k1:9092,k2:9092', kafkaConfig: clientProperties, kafkaProperties: { 'sasl.jaas.config': jaas('x-user', 'x-pw'), 'linger.ms': '5' } });
  // The driver's client logs in as -X says, not as the file says.
  assert.deepEqual(conn.kafkaClient.kafkajs, { sasl: { mechanism: 'scram-sha-512', username: 'x-user', password: 'x-pw' } });
  assert.equal(conn.kafkaClient.file, clientProperties, 'the file is still the one a later run reconnects with');
  // Spark's producer and consumer get the same merged set: the file's keys, -X's value where both set one.
  assert.deepEqual([...conn.kafkaConf].sort(), [
    'bootstrap.servers=k1:9092,k2:9092',
    'compression.type=gzip',
    'linger.ms=5',
    `sasl.jaas.config=${jaas('x-user', 'x-pw')}`,
    'sasl.mechanism=SCRAM-SHA-512',
    'security.protocol=SASL_PLAINTEXT',
  ]);
  // A library's submit takes the same merge (kafkaProperties no longer replaces the file).
  const config = parseSubmitConfig({ source: dir, topic: 't', bootstrapServer: 'k1:9092', kafkaConfig: clientProperties, kafkaProperties: { 'compression.type': 'zstd' } });
  assert.ok(config.kafkaConf.includes('compression.type=zstd') && !config.kafkaConf.includes('compression.type=gzip'));
  assert.deepEqual(config.kafkaClient.kafkajs.sasl, { mechanism: 'scram-sha-512', username: 'file-user', password: 'file-pw' });
  // -X alone, without a file: a whole client configuration.
  const alone = kafkaConnection({ bootstrapServer: 'k:9092', kafkaProperties: { 'security.protocol': 'sasl_plaintext', 'sasl.mechanism': 'PLAIN', 'sasl.jaas.config': jaas('u', 'p') } });
  assert.deepEqual(alone.kafkaClient.kafkajs, { sasl: { mechanism: 'plain', username: 'u', password: 'p' } });
});

test('-X/--kafka-property is repeatable, the later one winning, and reaches the command as kafkaProperties; it may come from the config file', async () => {
  const opts = await submitOptions(['submit', '-X', 'linger.ms=5', '--kafka-property', 'linger.ms=7', '-X', 'client.id=a=b', '-Xbatch.size=100']);
  assert.deepEqual(opts.kafkaProperties, { 'linger.ms': '7', 'client.id': 'a=b', 'batch.size': '100' });
  const yaml = file('c.yaml', 'kafka-property:\n  - linger.ms=9\n');
  assert.deepEqual((await submitOptions(['--config', yaml, 'submit'])).kafkaProperties, { 'linger.ms': '9' });
  assert.equal((await submitOptions(['submit'])).kafkaProperties, undefined, 'none given: none');
});

test('--command-config is --kafka-config by Kafka\'s tools\' name; both naming different files is exit 2', async () => {
  assert.equal((await submitOptions(['submit', '--command-config', clientProperties])).kafkaConfig, clientProperties);
  assert.equal((await submitOptions(['submit', '--command-config', clientProperties, '--kafka-config', clientProperties])).kafkaConfig, clientProperties, 'the same file twice is fine');
  // Flags beat SPARK_SYNC_* variables and the config file, under either name.
  assert.equal((await submitOptions(['submit', '--command-config', clientProperties], { SPARK_SYNC_KAFKA_CONFIG: '/etc/other.properties' })).kafkaConfig, clientProperties);
  assert.equal((await submitOptions(['--config', file('k.yaml', 'kafka-config: /etc/other.properties\n'), 'submit', '--command-config', clientProperties])).kafkaConfig, clientProperties);
  assert.equal((await submitOptions(['submit', '--kafka-config', clientProperties], { SPARK_SYNC_KAFKA_CONFIG: '/etc/other.properties' })).kafkaConfig, clientProperties);
  await assert.rejects(submitOptions(['submit', '--kafka-config', clientProperties, '--command-config', '/etc/other.properties']), (err: unknown) => {
    assert.ok(err instanceof SparkSyncError, String(err));
    assert.equal(err.exitCode, 2);
    assert.equal(err.oneLine(), `--kafka-config ${clientProperties} and --command-config /etc/other.properties name different files; they are one option under two names: pass one of them`);
    return true;
  });
  const run = runBin(['submit', '--source', dir, '--topic', 't', '--bootstrap-server', 'k:9092', '--kafka-config', clientProperties, '--command-config', '/etc/other.properties']);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /^spark-sync: error \[USAGE\]: --kafka-config .* and --command-config \/etc\/other\.properties name different files; .*\n$/);
});

test('a bad -X is exit 2 naming -X and the key, never its value; one from the file still names the file', () => {
  const secret = 'hunter2-s3cret';
  const cases: Array<[string[], RegExp]> = [
    // Checked up front, by any command with Kafka options, before anything runs.
    [['status', '-X', `buffer.memory=${secret}`], /-X has the unsupported property buffer\.memory; it may hold security\.protocol, sasl\.\*/],
    [['status', '-X', `acks=${secret}`], /-X sets acks, which spark-sync controls; remove acks/],
    [['reset', '--all', '-X', `sasl.jaas.config${secret}`], /-X takes key=value, and the 1st -X is not one/],
    [['doctor', '-X', 'linger.ms=1', '-X', secret], /-X takes key=value, and the 2nd -X is not one/],
    // Values are checked with the file's, when the command connects (here: submit, before any JVM).
    [['submit', '--source', dir, '--topic', 't', '--bootstrap-server', 'k:9092', '-X', `security.protocol=${secret}`], /-X has a security\.protocol Kafka does not know; use one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL/],
    [['submit', '--source', dir, '--topic', 't', '--bootstrap-server', 'k:9092', '--kafka-config', clientProperties, '-X', `sasl.mechanism=${secret}`], /-X has a sasl\.mechanism spark-sync does not support; spark-sync supports PLAIN/],
    [['submit', '--source', dir, '--topic', 't', '--bootstrap-server', 'k:9092', '-X', `max.request.size=${secret}`], /-X has a max\.request\.size that is not a whole number ≥ 1024/],
    [['verify', '--topic', 't', '--bootstrap-server', 'k:9092', '-X', `sasl.jaas.config=${jaas('u', secret)}`], /-X sets sasl\.\* but security\.protocol is PLAINTEXT; set security\.protocol=SASL_SSL or SASL_PLAINTEXT/],
    [['submit', '--source', dir, '--topic', 't', '--bootstrap-server', 'k:9092', '--kafka-config', file('acks.properties', `acks=${secret}\n`)], /--kafka-config .*acks\.properties sets acks, which spark-sync controls/],
  ];
  for (const [args, message] of cases) {
    const run = runBin(args);
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.equal(run.stderr.split('\n').length, 2, `${args.join(' ')}: one line: ${run.stderr}`);
    assert.match(run.stderr, new RegExp(`^spark-sync: error \\[USAGE\\]: ${message.source}`));
    assert.equal(JSON.parse(run.stdout.trim().split('\n').at(-1)!).error.exit_code, 2);
    assert.ok(!run.stderr.includes(secret) && !run.stdout.includes(secret), `${args.join(' ')}: the value is never printed`);
  }
});
