/**
 * `npm run bench:checkpoint -- [--records N] [--batch-size B] [--files F] [--repeat R]`
 *
 * What keeping the checkpoint in Kafka costs (DESIGN.md §5), in one run on one broker:
 *   (a) a sync of N rows with `--checkpoint-topic none` (the local file only) and (b) the same
 *       with the checkpoint topic, alternating, R times each: per batch, the checkpoint's two
 *       changes (the pending mark and the commit, `checkpoint_seconds` of each batch's log line),
 *       whose difference is what the checkpoint topic's round trips add; and the wall times;
 *   (c) the state of F files written through the checkpoint topic, then restored on a fresh
 *       home (an empty local checkpoint taking the topic's lease): the restore's time.
 * Every sync is checked exact (messages = rows).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { PACKAGE_ROOT } from '../src/config/paths';
import { startDevBroker } from '../src/dev/dev-broker';
import { KafkaAdmin } from '../src/kafka/kafka-admin';
import { benchLog, CLI, logLines, Measured, must, runMeasured, sparkTask } from './measured-process';
import { median } from './report';

const log = benchLog('bench:checkpoint');

async function main(): Promise<void> {
  const o = new Command('bench:checkpoint')
    .option('--records <n>', 'rows of the synced file', '10000000')
    .option('--batch-size <n>', 'rows per batch', '1000000')
    .option('--files <n>', 'files whose state is restored on a fresh home', '1000')
    .option('--repeat <n>', 'syncs of each kind, alternating', '2')
    .option('--partitions <n>', 'partitions of every topic', '6')
    .option('--out <dir>', 'where data and the broker live', path.join(PACKAGE_ROOT, 'bench-results'))
    .parse()
    .opts<{ records: string; batchSize: string; files: string; repeat: string; partitions: string; out: string }>();
  const [n, batch, files, repeat, p] = [Number(o.records), Number(o.batchSize), Number(o.files), Number(o.repeat), Number(o.partitions)];
  const runDir = path.join(path.resolve(o.out), `checkpoint-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const data = path.join(runDir, 'data');
  fs.mkdirSync(data, { recursive: true });
  log(`writing ${n} sample rows`);
  const file = path.join(data, 'rows.parquet');
  await sparkTask({ task: 'write-sample', file, firstRow: 0, rows: n });
  const broker = await startDevBroker({ dataDir: path.join(runDir, 'broker'), heapMb: 1024 });
  const admin = await KafkaAdmin.connect({ bootstrapServers: [broker.bootstrap] });
  const sync = async (topic: string, checkpointTopic: string): Promise<Measured> => {
    const home = path.join(runDir, `home-${topic}`);
    const m = await runMeasured(process.execPath, [CLI, 'submit', '--source', file, '--topic', topic, '--bootstrap-server', broker.bootstrap, '--create-topic', '--partitions', String(p),
      '--batch-size', String(batch), '--checkpoint-topic', checkpointTopic, '--log-format', 'json'], { SPARK_SYNC_HOME: home });
    must(m, `the sync of ${topic}`);
    const messages = (await admin.endOffsets(topic)).reduce((a, b) => a + b, 0);
    if (messages !== n) throw new Error(`${topic} holds ${messages} messages, expected ${n}`);
    return m;
  };
  try {
    const runs: Record<'none' | 'topic', Measured[]> = { none: [], topic: [] };
    for (let r = 0; r < repeat; r++) {
      for (const kind of r % 2 === 0 ? (['none', 'topic'] as const) : (['topic', 'none'] as const)) {
        log(`(${kind === 'none' ? 'a' : 'b'}) sync ${r + 1}/${repeat}, checkpoint ${kind === 'none' ? 'local only' : 'in the checkpoint topic'}`);
        runs[kind].push(await sync(`rows-${kind}-${r}`, kind === 'none' ? 'none' : 'spark-sync-checkpoints'));
      }
    }
    const perBatch = (kind: 'none' | 'topic') => runs[kind].flatMap((m) => logLines(m.stderr, 'batch committed').map((l) => Number(l.checkpoint_seconds)));
    const none = perBatch('none');
    const topic = perBatch('topic');
    log(`(c) ${files} files' state through the checkpoint topic, then restored on a fresh home`);
    const seeded = await sparkTask({ task: 'seed-checkpoints', checkpoint: path.join(runDir, 'home-seed', 'checkpoint.db'), topic: 'restored', bootstrap: broker.bootstrap, files });
    const restored = await sparkTask({ task: 'restore-checkpoints', checkpoint: path.join(runDir, 'home-fresh', 'checkpoint.db'), topic: 'restored', bootstrap: broker.bootstrap });
    const summary = {
      records: n, batch_size: batch, batches_per_sync: Math.ceil(n / batch), repeat,
      checkpoint_seconds_per_batch: { local_only_median: round3(median(none)), with_topic_median: round3(median(topic)), added_median: round3(median(topic) - median(none)) },
      sync_seconds: { local_only: runs.none.map((m) => round3(m.seconds)), with_topic: runs.topic.map((m) => round3(m.seconds)), ratio_of_medians: round3(median(runs.topic.map((m) => m.seconds)) / median(runs.none.map((m) => m.seconds))) },
      restore: { files, seed_seconds: seeded.seconds, seed_changes: seeded.changes, restore_seconds: restored.seconds, restored_files: restored.restored, files_after: restored.files },
    };
    fs.writeFileSync(path.join(runDir, 'results.json'), JSON.stringify(summary, null, 2) + '\n');
    process.stdout.write(JSON.stringify(summary) + '\n');
    if (restored.files !== files) {
      log(`FAILED: the fresh home holds ${restored.files} files after the restore, expected ${files}`);
      process.exitCode = 5;
    }
  } finally {
    await admin.close().catch(() => undefined);
    await broker.stop();
    fs.rmSync(data, { recursive: true, force: true });
    fs.rmSync(path.join(runDir, 'broker'), { recursive: true, force: true });
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

main().catch((err: unknown) => {
  log(`FAILED: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
