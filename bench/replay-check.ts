/**
 * `npm run bench:replay -- [--records N] [--index-records M] [--partitions P] [--profile] [--json]`
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
import { renderProfileTable, StepProfile } from './report';

const log = benchLog('bench:replay');

async function main(): Promise<void> {
  const o = new Command('bench:replay')
    .option('--records <n>', 'rows of the file checked', '1000000')
    .option('--index-records <n>', 'identities in the topic\'s index before the check', '10000000')
    .option('--partitions <n>', 'partitions of every topic', '6')
    .option('--json', 'the results as one JSON object on the last stdout line (printed with or without it, as bench\'s --json)')
    .option('--profile', 'record Spark\'s event log for steps (a)–(d) and report where their time goes')
    .option('--out <dir>', 'where data and the broker live', path.join(PACKAGE_ROOT, 'bench-results'))
    .parse()
    .opts<{ records: string; indexRecords: string; partitions: string; out: string; profile?: boolean; json?: boolean }>();
  const [n, m, p] = [Number(o.records), Number(o.indexRecords), Number(o.partitions)];
  const runDir = path.join(path.resolve(o.out), `replay-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const data = path.join(runDir, 'data');
  fs.mkdirSync(data, { recursive: true });
  const file = (name: string) => path.join(data, name);

  // Sample rows [0, n) are the checked file; [n, n + m) the indexed history; [n, 2n) a replay of part of it.
  log(`writing ${n} + ${m} + ${n} sample rows`);
  await sparkTask({ task: 'write-sample', file: file('checked.parquet'), firstRow: 0, rows: n });
  await sparkTask({ task: 'write-sample', file: file('history.parquet'), firstRow: n, rows: m });
  await sparkTask({ task: 'write-sample', file: file('replay.parquet'), firstRow: n, rows: n });
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
    log('(a) plain sync');
    const plain = await submit(file('checked.parquet'), 'plain', 'plain.db', [], 'plain');
    must(plain, 'the plain sync');
    log(`(b) ${n} new rows checked against ${m} identities`);
    const fresh = await submit(file('checked.parquet'), 'indexed', 'indexed.db', natural, 'new rows');
    must(fresh, 'the natural-key sync of new rows');
    log(`(c) ${n} replayed rows checked against ${m + n} identities`);
    const replay = await submit(file('replay.parquet'), 'indexed', 'indexed.db', natural, 'replay');
    must(replay, 'the replay');
    // (d) A new machine: an empty home, so the checkpoint comes from the checkpoint topic and
    // the index, missing there, is rebuilt from Kafka for every committed batch.
    log(`(d) a run on a fresh home rebuilds the index of ${m + n} identities from Kafka`);
    const fresh2 = await submit(file('one-row.parquet'), 'indexed', path.join('fresh-home', 'checkpoint.db'), natural, 'fresh home');
    must(fresh2, 'the run on a fresh home');
    const rebuilt = logLines(fresh2.stderr, 'the identity index lacked a committed batch (a crash came before its segment was written, or the index is new here); rebuilt it from Kafka');
    const restoredLog = logLines(fresh2.stderr, 'the local checkpoint was reconciled with the checkpoint topic')[0];
    const summary = {
      records: n, index_identities: m, partitions: p,
      index_build_seconds: round(history.seconds), index_build_rps: Math.round(m / history.seconds),
      plain_seconds: round(plain.seconds), plain_rps: Math.round(n / plain.seconds),
      new_rows_seconds: round(fresh.seconds), new_rows_rps: Math.round(n / fresh.seconds),
      replay_seconds: round(replay.seconds), replay_rows_per_second_checked: Math.round(n / replay.seconds),
      natural_vs_plain: round(fresh.seconds / plain.seconds), replay_vs_plain: round(replay.seconds / plain.seconds),
      messages: { plain: await messages('plain'), indexed: await messages('indexed') },
      index_bytes: folderBytes(path.join(data, 'identity-index', 'indexed')),
      peak_rss_mb: { plain: plain.peakRssMb, new_rows: fresh.peakRssMb, replay: replay.peakRssMb },
      fresh_home: {
        checkpoint_restore_seconds: Number(restoredLog?.seconds ?? NaN),
        index_segments_rebuilt: rebuilt.length,
        index_identities_rebuilt: rebuilt.reduce((a, l) => a + Number(l.identities), 0),
        index_rebuild_seconds: round(rebuilt.reduce((a, l) => a + Number(l.seconds), 0)),
        run_seconds: round(fresh2.seconds),
      },
    };
    const exact = summary.messages.plain === n && summary.messages.indexed === m + n && summary.fresh_home.index_identities_rebuilt === m + n;
    const results = { ...summary, exact };
    fs.writeFileSync(path.join(runDir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
    if (profiles.length > 0) process.stdout.write(renderProfileTable('where the time goes (Spark event log; task times are summed over tasks)', profiles) + '\n');
    process.stdout.write(JSON.stringify(results) + '\n');
    if (!exact) {
      log(`FAILED: the topics hold ${JSON.stringify(summary.messages)}, expected plain ${n} and indexed ${m + n}`);
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
