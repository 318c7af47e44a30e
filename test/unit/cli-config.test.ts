import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Command } from 'commander';
import { CheckpointStore } from '../../src/checkpoint/checkpoint-store';
import { program } from '../../src/cli/main';
import { parseSubmitConfig } from '../../src/config/submit-config';
import { kafkaClientSettings, loadKafkaClientConfig, sparkKafkaConf } from '../../src/config/kafka-client-config';
import { SparkSyncError } from '../../src/errors/spark-sync-error';
import { resolvedSubmitOptions } from '../helpers/submit-options';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spark-sync-cfg-'));

function yamlFile(text: string): string {
  const file = path.join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  fs.writeFileSync(file, text);
  return file;
}

test('flags beat env, env beats the config file, the file beats defaults', async () => {
  const file = yamlFile('bootstrap-server: file:9092\nbatch-size: 100\nmaster: local[1]\nconf:\n  - spark.a=1\n  - spark.b=2\ncreate-topic: true\ntopic: t-from-file\n');
  const fromFile = await resolvedSubmitOptions(['--config', file, 'submit']);
  assert.equal(fromFile.bootstrapServer, 'file:9092');
  assert.equal(fromFile.batchSize, '100');
  assert.deepEqual(fromFile.conf, ['spark.a=1', 'spark.b=2']);
  assert.equal(fromFile.createTopic, true);
  assert.equal(fromFile.recovery, 'window', 'unset everywhere: the default');

  const fromEnv = await resolvedSubmitOptions(['submit'], { SPARK_SYNC_CONFIG: file, SPARK_SYNC_BATCH_SIZE: '200', SPARK_SYNC_BOOTSTRAP_SERVER: 'env:9092' });
  assert.equal(fromEnv.batchSize, '200');
  assert.equal(fromEnv.bootstrapServer, 'env:9092');
  assert.equal(fromEnv.master, 'local[1]', 'not in env: the file');

  const fromFlags = await resolvedSubmitOptions(['--config', file, 'submit', '--batch-size', '300', '--conf', 'spark.c=3'], { SPARK_SYNC_BATCH_SIZE: '200' });
  assert.equal(fromFlags.batchSize, '300');
  assert.deepEqual(fromFlags.conf, ['spark.c=3'], 'a repeatable flag replaces the file\'s list');
});

test('a config file with an unknown key, a wrong type or bad YAML is a usage error naming it', async () => {
  const cases: Array<[string, RegExp]> = [
    ['batchsize: 5\n', /unknown setting 'batchsize'/],
    ['batch-size: [1, 2]\n', /'batch-size' must be a string or a number/],
    ['create-topic: "yes"\n', /'create-topic' must be true or false/],
    ['bootstrap-server: [a\n', /is not valid YAML/],
    ['- just\n- a list\n', /must be a mapping/],
  ];
  for (const [text, message] of cases) {
    await assert.rejects(resolvedSubmitOptions(['--config', yamlFile(text), 'submit']), (err: unknown) => {
      assert.ok(err instanceof SparkSyncError, String(err));
      assert.equal(err.exitCode, 2);
      assert.match(err.message, message);
      return true;
    });
  }
  await assert.rejects(resolvedSubmitOptions(['--config', path.join(dir, 'missing.yaml'), 'submit']), /cannot be read \(ENOENT\)/);
});

test('--kafka-config: SASL and TLS settings reach kafkajs and Spark; bad files name the property, never a value', () => {
  const jaas = 'org.apache.kafka.common.security.scram.ScramLoginModule required username="u1" password="s3cret";';
  const file = path.join(dir, 'client.properties');
  fs.writeFileSync(file, `# comment\nsecurity.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\nsasl.jaas.config=${jaas}\n`);
  const settings = loadKafkaClientConfig(file);
  assert.deepEqual(settings.kafkajs, { sasl: { mechanism: 'scram-sha-512', username: 'u1', password: 's3cret' } });
  assert.deepEqual(sparkKafkaConf(['k:9092'], settings), ['bootstrap.servers=k:9092', 'security.protocol=SASL_PLAINTEXT', 'sasl.mechanism=SCRAM-SHA-512', `sasl.jaas.config=${jaas}`]);

  const refused: Array<[Record<string, string>, RegExp]> = [
    [{ 'bootstrap.servers': 'x:1' }, /sets bootstrap\.servers.*use --bootstrap-server/],
    [{ acks: '1' }, /sets acks, which spark-sync controls/],
    [{ 'buffer.memory': '5' }, /unsupported property buffer\.memory/],
    [{ 'compression.type': 'brotli' }, /compression\.type Kafka does not know.*use one of none, gzip, snappy, lz4, zstd/],
    [{ 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'GSSAPI', 'sasl.jaas.config': jaas }, /has a sasl\.mechanism spark-sync does not support; spark-sync supports PLAIN, SCRAM-SHA-256, SCRAM-SHA-512/],
    [{ 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'PLAIN', 'sasl.jaas.config': 'x required user=u password=p;' }, /without username/],
    [{ 'security.protocol': 'SSL', 'ssl.truststore.location': '/etc/ts.jks', 'ssl.truststore.password': 'tspw' }, /ssl\.truststore\.location that is not PEM \(ssl\.truststore\.type is unset, so JKS\).*PEM/],
    [{ 'sasl.mechanism': 'PLAIN' }, /sets sasl\.\* but security\.protocol is PLAINTEXT/],
  ];
  for (const [properties, message] of refused) {
    assert.throws(() => kafkaClientSettings(properties, 'c.properties'), (err: unknown) => {
      assert.ok(err instanceof SparkSyncError);
      assert.equal(err.exitCode, 2);
      assert.match(err.oneLine(), message);
      assert.doesNotMatch(err.oneLine(), /s3cret|tspw/);
      return true;
    });
  }
});

test('every command has --help with an example', () => {
  const all = (cmd: Command): Command[] => [cmd, ...cmd.commands.flatMap(all)];
  for (const cmd of all(program())) {
    let help = '';
    cmd.configureOutput({ writeOut: (s) => (help += s) });
    cmd.outputHelp();
    assert.match(help, /\nExample:\n {2}spark-sync /, `${cmd.name()} --help has no example`);
  }
});

test('--jars takes existing .jar files, comma-separated or repeated, resolved to absolute paths', () => {
  const jar = path.join(dir, 'udf.jar');
  fs.writeFileSync(jar, 'PK');
  const base = { source: dir, topic: 't', bootstrapServer: 'k:9092' };
  assert.deepEqual(parseSubmitConfig({ ...base, jars: [`${jar},${jar}`] }).jars, [jar, jar]);
  assert.throws(() => parseSubmitConfig({ ...base, jars: ['missing.jar'] }), /--jars missing\.jar does not exist/);
  assert.throws(() => parseSubmitConfig({ ...base, jars: jar.replace('.jar', '.zip') }), /--jars takes \.jar files/);
});

test('Spark settings that skip unreadable files silently are refused with exit 2; the same keys set to false are fine', () => {
  const base = { source: dir, topic: 't', bootstrapServer: 'k:9092' };
  for (const kv of ['spark.sql.files.ignoreCorruptFiles=true', 'spark.sql.files.ignoreMissingFiles=TRUE', 'spark.files.ignoreCorruptFiles=true', 'spark.files.ignoreMissingFiles= true']) {
    assert.throws(() => parseSubmitConfig({ ...base, conf: [kv] }), (err: unknown) => {
      assert.ok(err instanceof SparkSyncError);
      assert.equal(err.exitCode, 2);
      assert.match(err.oneLine(), /is refused: it makes Spark skip unreadable or vanished files silently/);
      return true;
    });
  }
  assert.deepEqual(parseSubmitConfig({ ...base, conf: ['spark.sql.files.ignoreCorruptFiles=false'] }).conf, ['spark.sql.files.ignoreCorruptFiles=false']);
});

test('--replication-factor: a whole number from 1 for --create-topic, from the flag, SPARK_SYNC_REPLICATION_FACTOR or the file; unset, the broker default', async () => {
  assert.equal((await resolvedSubmitOptions(['submit', '--create-topic', '--replication-factor', '3'])).replicationFactor, '3');
  assert.equal((await resolvedSubmitOptions(['submit'], { SPARK_SYNC_REPLICATION_FACTOR: '2' })).replicationFactor, '2');
  assert.equal((await resolvedSubmitOptions(['--config', yamlFile('replication-factor: 3\n'), 'submit'])).replicationFactor, '3');
  assert.equal((await resolvedSubmitOptions(['submit'])).replicationFactor, undefined, 'no default of its own');

  const base = { source: dir, topic: 't', bootstrapServer: 'k:9092', createTopic: true };
  assert.equal(parseSubmitConfig({ ...base, replicationFactor: '3' }).replicationFactor, 3);
  assert.equal(parseSubmitConfig({ ...base, replicationFactor: 2 }).replicationFactor, 2);
  assert.equal(parseSubmitConfig(base).replicationFactor, undefined, "unset: the topic gets the broker's default.replication.factor");
  // A deployment-wide setting (env, the file): an existing topic keeps its own, so no error.
  assert.equal(parseSubmitConfig({ ...base, createTopic: false, replicationFactor: '3' }).replicationFactor, 3);
  const refused: Array<[string, RegExp]> = [
    ['0', /--replication-factor must be at least 1/],
    ['-1', /--replication-factor must be at least 1/],
    ['1.5', /--replication-factor must be a whole number/],
    ['three', /--replication-factor must be a whole number/],
    ['40000', /--replication-factor must be at most 32767/],
  ];
  for (const [value, message] of refused) {
    assert.throws(() => parseSubmitConfig({ ...base, replicationFactor: value }), (err: unknown) => {
      assert.ok(err instanceof SparkSyncError, String(err));
      assert.equal(err.exitCode, 2);
      assert.match(err.message, message);
      return true;
    }, value);
  }
});

test('--kafka-config may bound how long Spark\'s producer retries a write (delivery.timeout.ms, request.timeout.ms)', () => {
  const settings = kafkaClientSettings({ 'delivery.timeout.ms': '15000', 'request.timeout.ms': '5000' }, 'timeouts.properties');
  assert.deepEqual(settings.kafkajs, {});
  assert.deepEqual(sparkKafkaConf(['k:9092'], settings), ['bootstrap.servers=k:9092', 'delivery.timeout.ms=15000', 'request.timeout.ms=5000', 'security.protocol=PLAINTEXT']);
});

/** Runs the real CLI binary (no Spark: the commands below fail before any JVM starts). */
function runBin(args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const bin = path.resolve(__dirname, '..', '..', '..', 'bin', 'spark-sync.js');
  const r = spawnSync(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('review 25.9: a shared config file that names an action (yes, all, acknowledge, dry-run, file) is refused with exit 2 naming the key; nothing is reset', async () => {
  // A real checkpoint with one file in it, which a `reset` with `all: true` + `yes: true` from a
  // shared file would forget without anyone asking.
  const home = fs.mkdtempSync(path.join(dir, 'home-'));
  const checkpoint = path.join(home, 'checkpoint.db');
  const store = await CheckpointStore.open(checkpoint, { create: true });
  await store.acquireLease('t', { id: 'owner', host: os.hostname(), pid: process.pid }, 60_000);
  await store.startFile('t', 'a.parquet', { sourcePath: '/x/a.parquet', sourceFormat: 'parquet', batchSize: 10, startOffsets: [0], fingerprint: { sizeBytes: 1, mtimeMs: 1, rows: 10 }, keyFields: null, messageKey: null });
  await store.releaseLease('t');
  await store.close();
  for (const key of ['yes', 'all', 'acknowledge', 'dry-run', 'file']) {
    const value = key === 'file' ? 'a.parquet' : 'true';
    const config = yamlFile(`${key}: ${value}\n`);
    await assert.rejects(resolvedSubmitOptions(['--config', config, 'submit']), (err: unknown) => {
      assert.ok(err instanceof SparkSyncError, String(err));
      assert.equal(err.exitCode, 2);
      assert.match(err.oneLine(), new RegExp(`'${key}' is an action, not a setting: --${key} is taken from the command line only`));
      return true;
    }, key);
  }
  const shared = yamlFile('all: true\nyes: true\n');
  const run = runBin(['--config', shared, 'reset', '--checkpoint', checkpoint]);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /^spark-sync: error \[USAGE\]: .*'all' is an action, not a setting/m);
  assert.equal(JSON.parse(run.stdout.trim().split('\n').at(-1)!).error.code, 'USAGE');
  const after = await CheckpointStore.open(checkpoint, { create: false });
  assert.equal((await after.listFiles('t')).length, 1, 'the file is still in the checkpoint');
  await after.close();
});

test('review 25.9: SPARK_SYNC_VERBOSE and `verbose: true` in the config file print the cause of an error, as --verbose does', () => {
  const missing = path.join(dir, 'no-such-home', 'checkpoint.db');
  const quiet = runBin(['status', '--checkpoint', missing]);
  assert.equal(quiet.code, 2);
  assert.doesNotMatch(quiet.stderr, /\n {4}at /, 'no stack without verbose');
  for (const [how, run] of [
    ['--verbose', runBin(['--verbose', 'status', '--checkpoint', missing])],
    ['SPARK_SYNC_VERBOSE', runBin(['status', '--checkpoint', missing], { SPARK_SYNC_VERBOSE: '1' })],
    ['verbose: true', runBin(['--config', yamlFile('verbose: true\n'), 'status', '--checkpoint', missing])],
  ] as const) {
    assert.equal(run.code, 2, `${how}: ${run.stderr}`);
    assert.match(run.stderr, /error \[CHECKPOINT_INVALID\]/, how);
    assert.match(run.stderr, /\n {4}at /, `${how} prints the stack of the cause`);
  }
});
