import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startDevBroker } from '../../src/dev';
import { uniqueTopic } from '../helpers/broker-fixture';
import { useSyncFixture } from '../helpers/sync-fixture';
import { TestTls, makeTestTls } from '../helpers/tls-certs';
import { CliResult } from '../helpers/cli';
import { expectedSampleKeys } from '../helpers/sample-rows';

// A real broker that only accepts SASL/SCRAM-SHA-512 logins over TLS (SASL_SSL, a test CA and a
// certificate for 127.0.0.1 that both clients verify). The sync user's password is a canary: after a full sync (with --verbose, so Spark's and Kafka's own INFO logs are on) it must
// appear nowhere an operator or a log collector could read it.
const ROWS = 5_000;
const FILE = 'events.parquet';
const CANARY = `canary-${randomBytes(12).toString('hex')}`;
const USERS = { broker: `broker-${randomBytes(6).toString('hex')}`, 'sync-user': CANARY };

let tls: TestTls;
const t = useSyncFixture({
  tempPrefix: 'spark-sync-sasl-',
  broker: async (dir) => {
    fs.mkdirSync(path.join(dir, 'tls'));
    tls = makeTestTls(path.join(dir, 'tls'), randomBytes(9).toString('hex'));
    return startDevBroker({ dataDir: path.join(dir, 'broker'), scram: { users: USERS, brokerUser: 'broker' }, tls });
  },
});
let source: string;

function clientProperties(file: string, password: string, trustTestCa = true): string {
  fs.writeFileSync(
    file,
    [
      '# spark-sync test: SASL/SCRAM over TLS',
      'security.protocol=SASL_SSL',
      ...(trustTestCa ? ['ssl.truststore.type=PEM', `ssl.truststore.location=${tls.caPem}`] : []),
      'sasl.mechanism=SCRAM-SHA-512',
      `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="sync-user" password="${password}";`,
      '',
    ].join('\n'),
  );
  return file;
}

function occurrences(haystack: string): number {
  return haystack.split(CANARY).length - 1;
}

/** Every file under a folder, read as text (checkpoint, WAL, event logs). */
function readAll(root: string): Array<{ file: string; text: string }> {
  if (!fs.existsSync(root)) return [];
  return fs.readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath ?? e.path, e.name))
    .map((file) => ({ file, text: fs.readFileSync(file).toString('latin1') }));
}

before(async () => {
  source = await t.sample(FILE, ROWS);
});

after(() => {
  fs.rmSync(t.dir, { recursive: true, force: true });
});

test('a full sync over SASL/SCRAM-SHA-512 and TLS: exact topic, and the password in no output, log, checkpoint or event log', async () => {
  const topic = uniqueTopic('sasl');
  const properties = clientProperties(path.join(t.dir, 'client.properties'), CANARY);
  const state = path.join(t.dir, 'state');
  const checkpoint = path.join(state, 'checkpoint.db');
  const eventLogs = path.join(t.dir, 'spark-events');
  fs.mkdirSync(eventLogs);
  const run = await t.cli([
    '--verbose', 'submit', '--source', source, '--topic', topic, '--bootstrap-server', t.broker.bootstrap, '--kafka-config', properties,
    '--checkpoint', checkpoint, '--create-topic', '--partitions', '2', '--batch-size', '2000',
    '--conf', 'spark.eventLog.enabled=true', '--conf', `spark.eventLog.dir=file://${eventLogs}`,
  ]);
  assert.equal(run.code, 0, run.stderr.slice(-2000));
  assert.equal(run.summary.recordsSent, ROWS);
  await t.assertExact(topic, new Set(expectedSampleKeys(ROWS, FILE)), {
    sasl: { mechanism: 'scram-sha-512', username: 'sync-user', password: CANARY },
    ssl: { ca: [fs.readFileSync(tls.caPem, 'utf8')] },
  });

  // verify reads the keys back through Spark's Kafka consumer, over SASL too.
  const verify = await t.cli(['verify', '--topic', topic, '--bootstrap-server', t.broker.bootstrap, '--kafka-config', properties, '--checkpoint', checkpoint, '--json']);
  assert.equal(verify.code, 0, verify.stderr.slice(-2000));
  assert.equal(verify.summary.ok, true);

  assert.ok(run.logs.length > 0 && run.logs.some((l) => l.msg === 'batch committed'), 'JSON logs were written');
  // --verbose let Spark's and Kafka's own INFO logs through (Kafka's client prints its whole
  // config), so the check below covers them too.
  assert.match(run.stderr, /sasl\.mechanism = SCRAM-SHA-512/);
  assert.match(run.stderr, /security\.protocol = SASL_SSL/);
  const events = readAll(eventLogs);
  assert.ok(events.length > 0, 'Spark wrote an event log');
  const places = [
    { file: 'stdout', text: run.stdout + verify.stdout },
    { file: 'stderr', text: run.stderr + verify.stderr },
    ...readAll(state),
    ...events,
  ];
  for (const p of places) assert.equal(occurrences(p.text), 0, `the password appears in ${p.file}`);

  // The checkpoint: 0600 in a 0700 folder it created.
  assert.equal(fs.statSync(checkpoint).mode & 0o777, 0o600);
  assert.equal(fs.statSync(state).mode & 0o777, 0o700);
});

test('wrong credentials: exit 2, one line naming the refused login, nothing written', async () => {
  const topic = uniqueTopic('sasl-wrong');
  const wrong = `wrong-${randomBytes(8).toString('hex')}`;
  const properties = clientProperties(path.join(t.dir, 'wrong.properties'), wrong);
  const checkpoint = path.join(t.dir, 'wrong-state', 'checkpoint.db');
  const run: CliResult = await t.cli(
    ['submit', '--source', source, '--topic', topic, '--bootstrap-server', t.broker.bootstrap, '--kafka-config', properties, '--checkpoint', checkpoint, '--create-topic'],
    { timeoutMs: 60_000 },
  );
  assert.equal(run.code, 2, run.stderr);
  const errors = run.stderr.split('\n').filter((l) => l.startsWith('spark-sync: error'));
  assert.equal(errors.length, 1, run.stderr);
  assert.match(errors[0], /KAFKA_AUTH_FAILED.*refused the login.*check the user and password in --kafka-config/);
  assert.doesNotMatch(run.stderr + run.stdout, new RegExp(wrong));
  assert.equal(run.summary.ok, false);
  assert.ok(run.seconds < 30, `gave up in ${run.seconds} s`);

  const doctor = await t.cli(['doctor', '--bootstrap-server', t.broker.bootstrap, '--kafka-config', properties]);
  assert.equal(doctor.code, 2, doctor.stderr);
  const kafka = (doctor.summary.checks as Array<{ name: string; ok: boolean; detail: string }>).find((c) => c.name === 'kafka');
  assert.equal(kafka?.ok, false);
  assert.match(kafka!.detail, /refused the login/);
});

test('a broker certificate the client does not trust: exit 2, naming the truststore setting', async () => {
  const properties = clientProperties(path.join(t.dir, 'untrusted.properties'), CANARY, false);
  const run = await t.cli(['submit', '--source', source, '--topic', uniqueTopic('tls'), '--bootstrap-server', t.broker.bootstrap, '--kafka-config', properties, '--checkpoint', path.join(t.dir, 'tls-state', 'cp.db')], { timeoutMs: 60_000 });
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /KAFKA_TLS_FAILED.*does not trust.*ssl\.truststore\.location/);
  assert.equal(occurrences(run.stderr + run.stdout), 0);
});
