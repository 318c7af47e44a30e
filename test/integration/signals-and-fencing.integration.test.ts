import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import sqlite3 from 'sqlite3';
import { uniqueTopic } from '../helpers/broker-fixture';
import { CliResult } from '../helpers/cli';
import { expectedSampleKeys } from '../helpers/sample-rows';
import { useSyncFixture } from '../helpers/sync-fixture';
import { readTopic, tally, waitForMessages } from '../helpers/topic-reader';

/**
 * Stops that are not a SIGKILL: SIGTERM and SIGINT (Airflow's on_kill, a timeout, Ctrl-C), and a
 * writer paused (SIGSTOP) past its lease and resumed after another run took the topic over. Each
 * is caused for real on the CLI's process; the figures checked are the exit code, the summary
 * line, the time to exit, the lease, the checkpoint, and the topic as a consumer sees it.
 */
const ROWS = 600_000;
const BATCH = 150_000;
/** The documented bound from the first SIGTERM or SIGINT to the exit (README, "For schedulers"). */
const STOP_BOUND_S = 30;

const t = useSyncFixture({ partitions: 3, batchSize: BATCH, timeoutMs: 240_000 });
const source = { file: 'signals.parquet', path: '', keys: new Set<string>() };

before(async () => {
  source.path = await t.sample(source.file, ROWS, 1 << 20);
  source.keys = new Set(expectedSampleKeys(ROWS, source.file));
});

/** The checkpoint's lease rows, read with plain SQLite (what the next run's acquire sees). */
async function leases(file: string): Promise<Array<{ kafka_topic: string; owner: string; epoch: number; released_at: string | null }>> {
  const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY);
  try {
    return await new Promise((resolve, reject) => db.all('SELECT kafka_topic, owner, epoch, released_at FROM leases', (err, rows) => (err ? reject(err) : resolve(rows as never))));
  } finally {
    db.close();
  }
}

/** The checkpoint's files and batches, as text: to tell whether a process wrote to it. */
async function checkpointContent(file: string): Promise<string> {
  const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY);
  const all = (sql: string) => new Promise<unknown[]>((resolve, reject) => db.all(sql, (err, rows) => (err ? reject(err) : resolve(rows))));
  try {
    return JSON.stringify([await all('SELECT * FROM files ORDER BY file_name'), await all('SELECT * FROM batches ORDER BY file_name, batch_index')]);
  } finally {
    db.close();
  }
}

function recovered(run: CliResult): Record<string, unknown> | undefined {
  return run.logs.find((l) => l.msg === 'recovered a batch cut off by a crash');
}

/**
 * Submits, and once the topic holds the first batch and half of the second (so the stop lands
 * in the middle of a batch's write), sends `signals` to the CLI's process `gapMs` apart.
 * Resolves with the run and the seconds from the first signal to the exit.
 */
async function submitAndSignal(topic: string, signals: NodeJS.Signals[], gapMs = 0): Promise<{ run: CliResult; afterSignal: number }> {
  let signalledAt = 0;
  const run = await t.submit(source.path, topic, [], {
    onStart: (_kill, signal) => {
      void (async () => {
        await waitForMessages(t.broker.bootstrap, topic, BATCH + BATCH / 2, 200_000);
        signalledAt = Date.now();
        for (const [i, name] of signals.entries()) {
          if (i > 0) await new Promise((r) => setTimeout(r, gapMs));
          signal(name);
        }
      })();
    },
  });
  assert.ok(signalledAt > 0, `the run ended before the test signalled it: ${run.stderr.slice(-800)}`);
  return { run, afterSignal: (Date.now() - signalledAt) / 1000 };
}

test('SIGTERM mid-batch: the Spark job is cancelled, exit 3 with the summary within the bound, lease released, rerun exact', async () => {
  const topic = uniqueTopic('sigterm');
  const { run, afterSignal } = await submitAndSignal(topic, ['SIGTERM']);
  process.stderr.write(`# SIGTERM: exit ${run.code ?? run.signal} ${afterSignal.toFixed(1)} s after the signal\n`);
  assert.equal(run.timedOut, false);
  assert.equal(run.code, 3, run.stderr.slice(-1500));
  const error = run.summary.error as { code: string; exit_code: number };
  assert.equal(run.summary.ok, false);
  assert.equal(error.code, 'INTERRUPTED');
  assert.match(run.stderr, /error \[INTERRUPTED\]/);
  assert.doesNotMatch(run.stderr, /INTERNAL|this is a bug/);
  assert.ok(run.logs.some((l) => l.msg === 'stopping: cancelling the running Spark job (send again to exit at once)'), 'the driver, not the JVM, handled the signal');
  assert.ok(afterSignal < STOP_BOUND_S, `exited ${afterSignal} s after SIGTERM, the bound is ${STOP_BOUND_S} s`);
  // The lease was given up: the row stays (epochs only grow) but is released.
  const held = await leases(t.checkpoint(topic));
  assert.equal(held.length, 1);
  assert.ok(held[0].released_at, `lease left held: ${JSON.stringify(held)}`);
  // The checkpoint is consistent: one committed batch, the second pending.
  const status = await t.cli(['status', '--checkpoint', t.checkpoint(topic), '--json']);
  const file = (status.summary.files as Array<{ status: string; records_processed: number }>)[0];
  assert.equal(file.status, 'IN_PROGRESS');
  assert.equal(file.records_processed, BATCH);

  const rerun = await t.submit(source.path, topic);
  assert.equal(rerun.code, 0, rerun.stderr.slice(-1500));
  // The stop cut the second batch off mid-write (its job was cancelled, not finished): the rerun
  // found part of it in Kafka and recovered it.
  const rec = recovered(rerun);
  assert.ok(rec && Number(rec.found_in_kafka) > 0 && Number(rec.delta_written) > 0, `the rerun recovered a cut-off batch: ${JSON.stringify(rec)}`);
  await t.assertExact(topic, source.keys);
});

test('a second signal exits at once with exit 3 and the summary, the lease released; rerun exact', async () => {
  const topic = uniqueTopic('second-signal');
  // SIGTERM and SIGINT back to back, as an impatient operator or a scheduler's escalation sends
  // them. Two of the same signal sent this fast could merge into one pending signal in the
  // kernel; two different ones cannot, so the driver sees both, the second while it is stopping.
  const { run, afterSignal } = await submitAndSignal(topic, ['SIGTERM', 'SIGINT']);
  process.stderr.write(`# SIGTERM then SIGINT: exit ${run.code ?? run.signal} ${afterSignal.toFixed(1)} s after the first signal\n`);
  assert.equal(run.code, 3, run.stderr.slice(-1500));
  assert.equal((run.summary.error as { code: string }).code, 'INTERRUPTED');
  assert.match(run.stderr, /stopped at once on a second SIG(INT|TERM)/);
  assert.ok(afterSignal < 5, `exited ${afterSignal} s after the first SIGINT`);
  const held = await leases(t.checkpoint(topic));
  assert.ok(held[0].released_at, `lease left held: ${JSON.stringify(held)}`);
  // No wait for a stale lease: the rerun takes the topic at once and recovers the cut-off batch.
  const rerun = await t.submit(source.path, topic);
  assert.equal(rerun.code, 0, rerun.stderr.slice(-1500));
  assert.ok(recovered(rerun), 'the rerun recovered the batch the exit cut off');
  await t.assertExact(topic, source.keys);
});

test('a writer paused (SIGSTOP) past its lease, resumed after another run finished the file: it writes nothing to the checkpoint and exits 4; verify reports what it produced', async () => {
  const topic = uniqueTopic('zombie');
  const env = { SPARK_SYNC_LEASE_TIMEOUT_MS: '4000' };
  let resume: (() => void) | undefined;
  let pausedAt = 0;
  let second: CliResult | undefined;
  let before = '';
  const zombie = await t.submit(source.path, topic, [], {
    env,
    onStart: (_kill, signal) => {
      void (async () => {
        await waitForMessages(t.broker.bootstrap, topic, BATCH + BATCH / 3, 200_000);
        // The whole group: Node, and the JVM inside it, freeze mid-batch like a stalled VM.
        signal('SIGSTOP', true);
        pausedAt = Date.now();
        resume = () => signal('SIGCONT', true);
        // Past the lease timeout, a second run takes the topic over and finishes the file.
        await new Promise((r) => setTimeout(r, 5_000));
        second = await t.submit(source.path, topic, [], { env });
        before = await checkpointContent(t.checkpoint(topic));
        resume();
      })();
    },
  });
  assert.ok(pausedAt > 0 && resume, 'the first run was paused mid-batch');
  assert.ok(second, 'the second run ran while the first was paused');
  assert.equal(second!.code, 0, second!.stderr.slice(-1500));
  assert.ok(recovered(second!), 'the second run recovered the batch the paused one had cut off');
  // The zombie, resumed: its heartbeat finds the lease taken, it cancels its job and exits 4.
  assert.equal(zombie.code, 4, zombie.stderr.slice(-1500));
  assert.equal((zombie.summary.error as { code: string }).code, 'LEASE_LOST');
  assert.match(zombie.stderr, /lost its lease on topic/);
  assert.equal(await checkpointContent(t.checkpoint(topic)), before, 'the zombie changed the checkpoint after the takeover');
  const held = await leases(t.checkpoint(topic));
  assert.equal(held[0].epoch, 2, 'the takeover got the next epoch');

  // Every row is in the topic once; whatever the zombie sent after it resumed lies past the
  // second run's last commit, and verify reports it rather than passing.
  const counts = tally(await readTopic(t.broker.bootstrap, topic), source.keys);
  assert.equal(counts.missing, 0);
  assert.equal(counts.foreign, 0);
  const verify = await t.verify(topic);
  const stray = counts.messages - ROWS;
  process.stderr.write(`# zombie: exit ${zombie.code}, records it produced after the takeover: ${stray}, verify unaccounted: ${verify.summary.unaccounted}\n`);
  assert.equal(verify.summary.unaccounted, stray);
  assert.equal(verify.code, stray > 0 ? 5 : 0, verify.stderr.slice(-800));
});

test('review 25.7: a writer paused past its lease whose file is reset meanwhile exits 4 (LEASE_LOST) on resuming, and writes nothing to the checkpoint', async () => {
  const topic = uniqueTopic('reset-fence');
  const env = { SPARK_SYNC_LEASE_TIMEOUT_MS: '4000' };
  let pausedAt = 0;
  let reset: CliResult | undefined;
  let before = '';
  const paused = await t.submit(source.path, topic, [], {
    env,
    onStart: (_kill, signal) => {
      void (async () => {
        await waitForMessages(t.broker.bootstrap, topic, BATCH + BATCH / 3, 200_000);
        signal('SIGSTOP', true);
        pausedAt = Date.now();
        // Past the lease timeout an operator resets the file, then the writer resumes.
        await new Promise((r) => setTimeout(r, 5_000));
        reset = await t.cli(['reset', '--file', source.file, '--topic', topic, '--checkpoint', t.checkpoint(topic), '--yes'], { env });
        before = await checkpointContent(t.checkpoint(topic));
        signal('SIGCONT', true);
      })();
    },
  });
  assert.ok(pausedAt > 0 && reset, 'the run was paused mid-batch and reset meanwhile');
  assert.equal(reset!.code, 0, reset!.stderr.slice(-800));
  assert.deepEqual((reset!.summary.reset as Array<{ file_name: string }>).map((f) => f.file_name), [source.file]);
  process.stderr.write(`# reset while paused: the resumed writer exited ${paused.code ?? paused.signal}: ${paused.stderr.split('\n').find((l) => l.startsWith('spark-sync: error')) ?? ''}\n`);
  assert.equal(paused.code, 4, paused.stderr.slice(-1500));
  assert.equal((paused.summary.error as { code: string }).code, 'LEASE_LOST');
  assert.doesNotMatch(paused.stderr, /INTERNAL|this is a bug/);
  assert.equal(await checkpointContent(t.checkpoint(topic)), before, 'the resumed writer changed the checkpoint after the reset');
  const held = await leases(t.checkpoint(topic));
  assert.equal(held[0].epoch, 2, 'the reset took the next epoch');
});
