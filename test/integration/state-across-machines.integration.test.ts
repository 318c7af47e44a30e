import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { uniqueTopic } from '../helpers/broker-fixture';
import { CliResult, assertKilledOnPurpose } from '../helpers/cli';
import { expectedSampleKeys } from '../helpers/sample-rows';
import { useSyncFixture } from '../helpers/sync-fixture';
import { Kafka, logLevel } from 'kafkajs';
import { messagesIn, readTopic, tally, waitForMessages } from '../helpers/topic-reader';

/**
 * Exactly once on any machine (issue 24): the checkpoint's authoritative copy lives in the
 * checkpoint topic, so a run on another Airflow worker or in a fresh pod resumes instead of
 * resending. Each "machine" is run as Airflow runs a BashOperator: its own empty SPARK_SYNC_HOME,
 * a working directory in a temp folder removed afterwards, and no --checkpoint.
 */
const ROWS = 200_000;
const BATCH = 50_000;
const FILE = 'orders.parquet';

const t = useSyncFixture({ partitions: 3, batchSize: BATCH, timeoutMs: 240_000 });
let source = '';
let keys = new Set<string>();

test.before(async () => {
  source = await t.sample(FILE, ROWS, 1 << 20);
  keys = new Set(expectedSampleKeys(ROWS, FILE));
});

/** A fresh machine: an empty home, and a temp working directory removed after each command. */
function machine(name: string) {
  const home = fs.mkdtempSync(path.join(t.dir, `home-${name}-`));
  const run = async (args: string[], options: Parameters<typeof t.cli>[1] = {}): Promise<CliResult> => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'airflow-task-'));
    try {
      return await t.cli(args, { ...options, cwd, env: { SPARK_SYNC_HOME: home, ...(options.env ?? {}) } });
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  };
  return {
    home,
    run,
    submit: (topic: string, extra: string[] = [], options: Parameters<typeof t.cli>[1] = {}) =>
      run(['submit', '--source', source, '--topic', topic, '--bootstrap-server', t.broker.bootstrap, '--batch-size', String(BATCH), '--create-topic', '--partitions', '3', ...extra], options),
    status: (topic: string) => run(['status', '--bootstrap-server', t.broker.bootstrap, '--topic', topic, '--json']),
  };
}

/** The topic's messages now (end offsets summed). */
async function messagesNow(topic: string): Promise<number> {
  const admin = new Kafka({ clientId: 'machines-count', brokers: [t.broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return await messagesIn(admin, topic);
  } finally {
    await admin.disconnect();
  }
}

function recovered(run: CliResult): Record<string, unknown> | undefined {
  return run.logs.find((l) => l.msg === 'recovered a batch cut off by a crash');
}

test('killed mid-batch on machine A, the same submit on an empty machine B finishes the file exactly, and one on machine C sends nothing', async () => {
  const topic = uniqueTopic('machines');
  const [a, b, c] = [machine('a'), machine('b'), machine('c')];
  const killed = await a.submit(topic, [], { env: { SPARK_SYNC_TEST_CRASH_AT: 'mid-batch@2' } });
  assertKilledOnPurpose(killed, 'run 1 on machine A');
  const atKill = await messagesNow(topic);
  assert.ok(atKill > 2 * BATCH && atKill < 3 * BATCH, `killed inside batch 2 (${atKill} messages)`);

  const second = await b.submit(topic);
  assert.equal(second.code, 0, second.stderr.slice(-1500));
  const reconciled = second.logs.find((l) => l.msg === 'the local checkpoint was reconciled with the checkpoint topic');
  assert.equal(reconciled?.restored, 1, `machine B rebuilt its checkpoint from the checkpoint topic: ${JSON.stringify(reconciled)}`);
  const rec = recovered(second);
  assert.ok(rec && Number(rec.found_in_kafka) > 0, `machine B recovered the batch A cut off: ${JSON.stringify(rec)}`);
  // Batch 2 was recovered (what A had written of it found, the rest written), then B sent batch 3.
  assert.equal(second.summary.recordsSent, Number(rec!.delta_written) + ROWS - 3 * BATCH, 'B sent the rest of the recovered batch and the batches after it, nothing A had committed or written');
  assert.equal(Number(rec!.found_in_kafka) + Number(rec!.delta_written), BATCH, 'the recovery completed batch 2 exactly');
  await t.assertExact(topic, keys);

  const third = await c.submit(topic);
  assert.equal(third.code, 0, third.stderr.slice(-1500));
  assert.equal(third.summary.recordsSent, 0);
  await t.assertExact(topic, keys);

  // status and verify on yet another machine, from the checkpoint topic alone.
  const d = machine('d');
  const status = await d.status(topic);
  assert.equal(status.code, 0, status.stderr);
  const [file] = status.summary.files as Array<{ file_name: string; status: string; records_processed: number }>;
  assert.deepEqual([file.file_name, file.status, file.records_processed], [FILE, 'COMPLETED', ROWS]);
  assert.ok(!fs.existsSync(path.join(d.home, 'checkpoint.db')), 'status needed no local checkpoint');
  const verify = await d.run(['verify', '--topic', topic, '--bootstrap-server', t.broker.bootstrap, '--json']);
  assert.equal(verify.code, 0, verify.stderr.slice(-800));
  assert.match(String(verify.summary.checkpoint), /^kafka topic spark-sync-checkpoints$/);
});

test('while a run holds the topic on machine A, a run on machine B exits 3 within seconds naming A and sends nothing; A ends exact', async () => {
  const topic = uniqueTopic('machines-held');
  const [a, b] = [machine('a'), machine('b')];
  let second: CliResult | undefined;
  let before = -1;
  let after = -1;
  const first = await a.submit(topic, [], {
    env: { SPARK_SYNC_TEST_PAUSE_BEFORE_BATCH: '1:15000' },
    onLog: {
      msg: 'test pause',
      run: () => {
        void (async () => {
          before = await messagesNow(topic);
          second = await b.submit(topic);
          after = await messagesNow(topic);
        })();
      },
    },
  });
  assert.equal(first.code, 0, first.stderr.slice(-1500));
  assert.ok(second, 'the run on B ran while A held the topic');
  process.stderr.write(`# lease held: B exited ${second!.code} after ${second!.seconds.toFixed(1)} s: ${second!.stderr.split('\n').find((l) => l.startsWith('spark-sync: error'))}\n`);
  assert.equal(second!.code, 3, second!.stderr.slice(-1500));
  assert.equal((second!.summary.error as { code: string }).code, 'LEASE_HELD');
  assert.match(second!.stderr, new RegExp(`topic ${topic} is being synced by another spark-sync \\(pid \\d+ on ${os.hostname()}`));
  assert.ok(second!.seconds < 30, `B gave up in ${second!.seconds} s`);
  assert.equal(after, before, 'B wrote nothing to the topic');
  await t.assertExact(topic, keys);
});

test('a run paused (SIGSTOP) past its lease on machine A, taken over by machine B, exits 4 on resuming and changes neither the checkpoint topic nor B\'s result', async () => {
  const topic = uniqueTopic('machines-zombie');
  const [a, b] = [machine('a'), machine('b')];
  const env = { SPARK_SYNC_LEASE_TIMEOUT_MS: '4000' };
  let second: CliResult | undefined;
  let stateBefore = '';
  let paused = false;
  const zombie = await a.submit(topic, [], {
    env,
    onStart: (_kill, signal) => {
      void (async () => {
        await waitForMessages(t.broker.bootstrap, topic, BATCH + BATCH / 3, 200_000);
        signal('SIGSTOP', true);
        paused = true;
        await new Promise((r) => setTimeout(r, 5_000));
        second = await b.submit(topic, [], { env });
        stateBefore = JSON.stringify((await b.status(topic)).summary.files);
        signal('SIGCONT', true);
      })();
    },
  });
  assert.ok(paused && second, 'A was paused mid-batch and B ran meanwhile');
  assert.equal(second!.code, 0, second!.stderr.slice(-1500));
  assert.ok(recovered(second!), 'B recovered the batch A had cut off');
  assert.equal(zombie.code, 4, zombie.stderr.slice(-1500));
  assert.equal((zombie.summary.error as { code: string }).code, 'LEASE_LOST');
  assert.equal(JSON.stringify((await b.status(topic)).summary.files), stateBefore, 'the checkpoint topic is as B left it');
  // B's result stands: every row once; whatever A sent after resuming lies past B's last commit.
  const counts = tally(await readTopic(t.broker.bootstrap, topic), keys);
  assert.deepEqual({ missing: counts.missing, foreign: counts.foreign, distinct: counts.distinctKeys }, { missing: 0, foreign: 0, distinct: ROWS });
  const verify = await b.run(['verify', '--topic', topic, '--bootstrap-server', t.broker.bootstrap, '--json']);
  process.stderr.write(`# zombie across machines: A exit ${zombie.code}, records it produced after the takeover: ${counts.messages - ROWS}, verify unaccounted ${verify.summary.unaccounted}\n`);
  assert.equal(verify.summary.unaccounted, counts.messages - ROWS);
});

test('a local-only run (--checkpoint-topic none) on machine B after machine A synced the file duplicates it, and verify --scope topic reports it with exit 5', async () => {
  const topic = uniqueTopic('machines-local');
  const [a, b] = [machine('a'), machine('b')];
  assert.equal((await a.submit(topic)).code, 0);
  const local = await b.submit(topic, ['--checkpoint-topic', 'none']);
  assert.equal(local.code, 0, local.stderr.slice(-800));
  assert.equal(local.summary.recordsSent, ROWS, 'without the checkpoint topic, B knew nothing of A\'s run');
  const verify = await b.run(['verify', '--topic', topic, '--bootstrap-server', t.broker.bootstrap, '--checkpoint-topic', 'none', '--scope', 'topic', '--json']);
  assert.equal(verify.code, 5, verify.stderr.slice(-800));
  const [audit] = verify.summary.files as Array<{ duplicated: number; outsideRange: number }>;
  assert.deepEqual({ duplicated: audit.duplicated, outsideRange: audit.outsideRange }, { duplicated: ROWS, outsideRange: ROWS });
});

test('a checkpoint kept only locally (as before the checkpoint topic, or with --checkpoint-topic none) is published on its first run with the checkpoint topic, so a run on an empty machine B sends nothing', async () => {
  const topic = uniqueTopic('machines-migrate');
  const [a, b] = [machine('a'), machine('b')];
  // Cut off mid-batch, local only: the checkpoint topic knows nothing of this topic yet.
  const killed = await a.submit(topic, ['--checkpoint-topic', 'none'], { env: { SPARK_SYNC_TEST_CRASH_AT: 'mid-batch@2' } });
  assertKilledOnPurpose(killed, 'the local-only run on machine A');
  const before = await b.status(topic);
  assert.equal(before.code, 2, `status on machine B finds no checkpoint of ${topic} in the checkpoint topic yet: ${before.stdout.slice(-400)}`);
  assert.equal((before.summary.error as { code: string }).code, 'CHECKPOINT_INVALID', before.stdout.slice(-400));

  const upgraded = await a.submit(topic);
  assert.equal(upgraded.code, 0, upgraded.stderr.slice(-1500));
  const reconciled = upgraded.logs.find((l) => l.msg === 'the local checkpoint was reconciled with the checkpoint topic');
  assert.equal(reconciled?.published, 1, `machine A published its local checkpoint: ${JSON.stringify(reconciled)}`);
  const rec = recovered(upgraded);
  assert.ok(rec && Number(rec.found_in_kafka) + Number(rec.delta_written) === BATCH, `A recovered the batch it cut off: ${JSON.stringify(rec)}`);
  assert.equal(upgraded.summary.recordsSent, Number(rec!.delta_written) + ROWS - 3 * BATCH, 'A resumed from its own checkpoint: the rest of batch 2 recovered, batch 3 sent');
  await t.assertExact(topic, keys);

  const fresh = await b.submit(topic);
  assert.equal(fresh.code, 0, fresh.stderr.slice(-1500));
  assert.equal(fresh.summary.recordsSent, 0, 'B found the published checkpoint and sent nothing');
  await t.assertExact(topic, keys);
  const after = await b.status(topic);
  const [file] = after.summary.files as Array<{ file_name: string; status: string; records_processed: number }>;
  assert.deepEqual([file.file_name, file.status, file.records_processed], [FILE, 'COMPLETED', ROWS]);
});
