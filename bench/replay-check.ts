/**
 * `npm run bench:replay -- [--records N] [--index-records M] [--partitions P] [--repeat R] [--profile] [--json]`
 *
 * What the natural-key replay check costs (`--key-fields`): a file of N rows synced against a
 * topic whose identity index already holds M identities, next to a plain (positional) sync of the
 * same file, in one run on one broker. The index is built for real, by a natural-key sync of M
 * other rows first (timed, reported apart). Then:
 *   (a) plain: the N-row file, positional identity, a fresh topic;
 *   (b) new rows: the same file with --key-fields id into the indexed topic: every row checked
 *       against the M identities, every row sent;
 *   (c) replay: N rows the index already holds, synced under another file name: every row
 *       checked, none sent;
 *   (d) a new machine: a one-row replay from an empty home, whose checkpoint is restored from the
 *       checkpoint topic and whose index (missing there) is rebuilt from Kafka: the rebuild timed.
 * With --repeat R, (a)–(c) run R times on the one index (each run's new rows are rows no earlier
 * run sent, so the index grows by N a run) and the ratios are the medians of the runs' ratios.
 * Each topic is counted afterwards (messages = what each step had to send).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { PACKAGE_ROOT } from '../src/config/paths';
import { startDevBroker } from '../src/dev/dev-broker';
import { KafkaAdmin } from '../src/kafka/kafka-admin';
import { benchLog, CLI, logLines, Measured, must, runMeasured, sparkTask } from './measured-process';
import { profileEventLog } from './profile';
import { median, renderProfileTable, StepProfile } from './report';

const log = benchLog('bench:replay');

async function main(): Promise<void> {
  const o = new Command('bench:replay')
    .option('--records <n>', 'rows of the file checked', '1000000')
    .option('--index-records <n>', 'identities in the topic\'s index before the check', '10000000')
    .option('--partitions <n>', 'partitions of every topic', '6')
    .option('--repeat <n>', 'run steps (a)–(c) this many times; ratios are medians', '1')
    .option('--json', 'the results as one JSON object on the last stdout line (printed with or without it, as bench\'s --json)')
    .option('--profile', 'record Spark\'s event log for steps (a)–(d) (the last run\'s) and report where their time goes')
    .option('--out <dir>', 'where data and the broker live', path.join(PACKAGE_ROOT, 'bench-results'))
    .parse()
    .opts<{ records: string; indexRecords: string; partitions: string; repeat: string; out: string; profile?: boolean; json?: boolean }>();
  const [n, m, p, runs] = [Number(o.records), Number(o.indexRecords), Number(o.partitions), Number(o.repeat)];
  const runDir = path.join(path.resolve(o.out), `replay-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const data = path.join(runDir, 'data');
  fs.mkdirSync(data, { recursive: true });
  const file = (name: string) => path.join(data, name);

  // Sample rows [0, n) are run 1's checked file, [n + m + (r − 2)·n, …) run r's; [n, n + m) the
  // indexed history; [n, 2n) a replay of part of it, under another name in each run.
  log(`writing ${n}×${runs} + ${m} + ${n}×${runs} sample rows`);
  const checked = (r: number) => file(r === 1 ? 'checked.parquet' : `checked-${r}.parquet`);
  const replayed = (r: number) => file(r === 1 ? 'replay.parquet' : `replay-${r}.parquet`);
  for (let r = 1; r <= runs; r++) {
    await sparkTask({ task: 'write-sample', file: checked(r), firstRow: r === 1 ? 0 : n + m + (r - 2) * n, rows: n });
    await sparkTask({ task: 'write-sample', file: replayed(r), firstRow: n, rows: n });
  }
  await sparkTask({ task: 'write-sample', file: file('history.parquet'), firstRow: n, rows: m });
  await sparkTask({ task: 'write-sample', file: file('one-row.parquet'), firstRow: n, rows: 1 });

  const broker = await startDevBroker({ dataDir: path.join(runDir, 'broker'), heapMb: 1024 });
  const admin = await KafkaAdmin.connect({ bootstrapServers: [broker.bootstrap] });
  // With --profile, each step's Spark event log, read back into where its time went.
  const profiles: Array<[string, StepProfile]> = [];
  const submit = async (source: string, topic: string, checkpoint: string, extra: string[], step?: string): Promise<Measured> => {
    const events = o.profile && step ? path.join(runDir, 'event-logs', step.replace(/\W+/g, '-')) : undefined;
    if (events) fs.mkdirSync(events, { recursive: true });
    const m = await runMeasured(process.execPath, [CLI, 'submit', '--source', source, '--topic', topic, '--bootstrap-server', broker.bootstrap, '--create-topic', '--partitions', String(p),
      '--checkpoint', file(checkpoint), '--log-format', 'json', ...(events ? ['--conf', 'spark.eventLog.enabled=true', '--conf', `spark.eventLog.dir=file://${events}`] : []), ...extra]);
    if (events && m.code === 0) profiles.push([step!, profileEventLog(events, m.startedAtMs, m.seconds)]);
    return m;
  };
  const messages = async (topic: string) => (await admin.endOffsets(topic)).reduce((a, b) => a + b, 0);
  try {
    const natural = ['--key-fields', 'id'];
    log(`setup: natural-key sync of ${m} rows, building an index of ${m} identities`);
    const history = await submit(file('history.parquet'), 'indexed', 'indexed.db', natural);
    must(history, 'the index build');
    const steps: Array<{ plain: Measured; fresh: Measured; replay: Measured }> = [];
    for (let r = 1; r <= runs; r++) {
      const run = runs === 1 ? '' : ` (run ${r} of ${runs})`;
      // With --profile, the last run's steps are profiled (one table, one column a step).
      const tag = (step: string) => (r === runs ? step : undefined);
      log(`(a) plain sync${run}`);
      const plain = await submit(checked(r), `plain-${r}`, `plain-${r}.db`, [], tag('plain'));
      must(plain, 'the plain sync');
      log(`(b) ${n} new rows checked against ${m + (r - 1) * n} identities${run}`);
      const fresh = await submit(checked(r), 'indexed', 'indexed.db', natural, tag('new rows'));
      must(fresh, 'the natural-key sync of new rows');
      log(`(c) ${n} replayed rows checked against ${m + r * n} identities${run}`);
      const replay = await submit(replayed(r), 'indexed', 'indexed.db', natural, tag('replay'));
      must(replay, 'the replay');
      steps.push({ plain, fresh, replay });
    }
    const sent = m + runs * n;
    // (d) A new machine: an empty home, so the checkpoint comes from the checkpoint topic and
    // the index, missing there, is rebuilt from Kafka for every committed batch.
    log(`(d) a run on a fresh home rebuilds the index of ${sent} identities from Kafka`);
    const fresh2 = await submit(file('one-row.parquet'), 'indexed', path.join('fresh-home', 'checkpoint.db'), natural, 'fresh home');
    must(fresh2, 'the run on a fresh home');
    const rebuilt = logLines(fresh2.stderr, 'the identity index lacked a committed batch (a crash came before its segment was written, or the index is new here); rebuilt it from Kafka');
    const restoredLog = logLines(fresh2.stderr, 'the local checkpoint was reconciled with the checkpoint topic')[0];
    const seconds = (pick: (s: typeof steps[number]) => Measured) => steps.map((s) => round(pick(s).seconds));
    const plainSeconds = median(seconds((s) => s.plain));
    const freshSeconds = median(seconds((s) => s.fresh));
    const replaySeconds = median(seconds((s) => s.replay));
    const plainMessages = await Promise.all(steps.map((_, i) => messages(`plain-${i + 1}`)));
    const summary = {
      records: n, index_identities: m, partitions: p, runs,
      index_build_seconds: round(history.seconds), index_build_rps: Math.round(m / history.seconds),
      plain_seconds: plainSeconds, plain_rps: Math.round(n / plainSeconds),
      new_rows_seconds: freshSeconds, new_rows_rps: Math.round(n / freshSeconds),
      replay_seconds: replaySeconds, replay_rows_per_second_checked: Math.round(n / replaySeconds),
      // Medians of each run's own ratio (a run's steps share the machine's state of the moment).
      natural_vs_plain: round(median(steps.map((s) => s.fresh.seconds / s.plain.seconds))),
      replay_vs_plain: round(median(steps.map((s) => s.replay.seconds / s.plain.seconds))),
      per_run: { plain_seconds: seconds((s) => s.plain), new_rows_seconds: seconds((s) => s.fresh), replay_seconds: seconds((s) => s.replay) },
      messages: { plain: plainMessages, indexed: await messages('indexed') },
      index_bytes: folderBytes(path.join(data, 'identity-index', 'indexed')),
      peak_rss_mb: { plain: Math.max(...steps.map((s) => s.plain.peakRssMb)), new_rows: Math.max(...steps.map((s) => s.fresh.peakRssMb)), replay: Math.max(...steps.map((s) => s.replay.peakRssMb)) },
      fresh_home: {
        checkpoint_restore_seconds: Number(restoredLog?.seconds ?? NaN),
        index_segments_rebuilt: rebuilt.length,
        index_identities_rebuilt: rebuilt.reduce((a, l) => a + Number(l.identities), 0),
        index_rebuild_seconds: round(rebuilt.reduce((a, l) => a + Number(l.seconds), 0)),
        run_seconds: round(fresh2.seconds),
      },
    };
    const exact = plainMessages.every((c) => c === n) && summary.messages.indexed === sent && summary.fresh_home.index_identities_rebuilt === sent;
    const results = { ...summary, exact };
    fs.writeFileSync(path.join(runDir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
    if (profiles.length > 0) process.stdout.write(renderProfileTable('where the time goes (Spark event log; task times are summed over tasks)', profiles) + '\n');
    process.stdout.write(JSON.stringify(results) + '\n');
    if (!exact) {
      log(`FAILED: the topics hold ${JSON.stringify(summary.messages)}, expected plain ${n} each and indexed ${sent}, ${sent} identities rebuilt`);
      process.exitCode = 5;
    }
  } finally {
    await admin.close().catch(() => undefined);
    await broker.stop();
    fs.rmSync(data, { recursive: true, force: true });
    fs.rmSync(path.join(runDir, 'broker'), { recursive: true, force: true });
  }
}

function folderBytes(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).reduce((n, e) => n + fs.statSync(path.join(e.parentPath ?? e.path, e.name)).size, 0);
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

main().catch((err: unknown) => {
  log(`FAILED: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
