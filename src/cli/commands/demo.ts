import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { checkpointRecord } from '../../checkpoint/checkpoint-report';
import { sparkSyncHome } from '../../config/paths';
import { ExitCode, SparkSyncError } from '../../errors/spark-sync-error';
import { DevBroker, startDevBroker } from '../../dev/dev-broker';
import { KafkaAdmin } from '../../kafka/kafka-admin';
import type { Logger } from '../../log/logger';
import { SparkSync } from '../../spark-sync';
import { globalOptions } from '../global-options';
import { exitCodesHelp, printSummary, statusTable } from '../output';

export function demoCommand(): Command {
  return new Command('demo')
    .description('the whole story on embedded defaults: sample Parquet file, local Kafka broker, sync, rerun, verify, status')
    .option('--rows <n>', 'rows in the sample file', '100000')
    // --rows' old name (sample and preview always said --rows): still read so old scripts run, not shown.
    .addOption(new Option('--records <n>', 'deprecated: --rows').hideHelp())
    .addHelpText('after', `
Example:
  spark-sync demo --rows 1000000   # files in $SPARK_SYNC_HOME/demo (~/.spark-sync/demo)
${exitCodesHelp([0, 1, 2, 3, 5, 6], { 5: 'the topic does not hold exactly one message per row, or verify found missing or duplicated records' })}`)
    .action(async (opts: { rows: string; records?: string }, cmd: Command) => {
      const { log } = globalOptions(cmd);
      const rows = demoRows(opts, cmd);
      if (opts.records !== undefined) log.warn({}, '--records is deprecated: use --rows');
      const home = path.join(sparkSyncHome(), 'demo');
      fs.rmSync(home, { recursive: true, force: true });
      fs.mkdirSync(home, { recursive: true, mode: 0o700 });
      const sourceFile = path.join(home, 'txn_2024_01_15.parquet');
      const checkpoint = path.join(home, 'checkpoint.db');
      const topic = 'spark-sync-demo';

      log.info({ data_dir: path.join(home, 'broker') }, '1/6 starting a local Apache Kafka broker (KRaft)');
      const starting = startDevBroker({ dataDir: path.join(home, 'broker'), log });
      const stopOnSignal = brokerStopsWithSignals(starting, log);
      const broker = await starting;
      // Stopped while the broker started: the signal's handler stops it and exits; go no further.
      if (stopOnSignal.stopping()) await new Promise(() => undefined);
      const sync = await SparkSync.open({ logger: log });
      sync.on('batch-committed', (e) => log.info({ batch: e.batchIndex, records_processed: e.recordsProcessed, total_records: e.totalRecords }, 'batch committed'));
      try {
        log.info({ file: sourceFile, rows }, '2/6 writing a sample Parquet file with Spark');
        await sync.writeSample(sourceFile, { rows });
        log.info({ topic, bootstrap: broker.bootstrap }, '3/6 syncing it into a new 3-partition topic');
        const first = await sync.submit({ source: sourceFile, topic, bootstrapServer: broker.bootstrap, createTopic: true, partitions: 3, checkpoint, batchSize: Math.ceil(rows / 4) });
        log.info({}, '4/6 rerunning the same submit: the checkpoint says everything is there');
        const rerun = await sync.submit({ source: sourceFile, topic, bootstrapServer: broker.bootstrap, checkpoint, batchSize: Math.ceil(rows / 4) });
        const admin = await KafkaAdmin.connect({ bootstrapServers: [broker.bootstrap] });
        const messages = (await admin.endOffsets(topic)).reduce((a, b) => a + b, 0);
        await admin.close();
        log.info({}, '5/6 verify: Spark re-keys the file and compares with the keys in the topic');
        const audit = await sync.verify({ topic, bootstrapServer: broker.bootstrap, checkpoint });
        const [file] = audit.files;
        log.info({ source_rows: file.sourceRows, messages: file.messages, missing: file.missing, duplicated: file.duplicated, foreign: file.foreign }, audit.ok ? 'verified: nothing missing, nothing duplicated' : 'VERIFY FAILED');
        log.info({}, '6/6 checkpoint status');
        process.stderr.write(statusTable((await sync.status(checkpoint)).map(checkpointRecord)));
        log.info({ messages, rows, first_run_sent: first.recordsSent, rerun_sent: rerun.recordsSent, records_per_second: first.recordsPerSecond }, messages === rows ? `the topic holds exactly ${messages} messages for ${rows} rows` : `MISMATCH: ${messages} messages for ${rows} rows`);
        printSummary({ command: 'demo', ok: messages === rows && audit.ok, rows, messages, missing: file.missing, duplicated: file.duplicated, first_run_sent: first.recordsSent, rerun_sent: rerun.recordsSent, seconds: first.seconds, records_per_second: first.recordsPerSecond, checkpoint });
        if (messages !== rows || !audit.ok) process.exitCode = 5;
      } finally {
        stopOnSignal.dispose();
        await sync.close();
        await broker.stop();
      }
    });
}

/**
 * Ctrl-C or SIGTERM during the demo stops its broker (once started) and exits 3, interrupted.
 * The broker runs in a process group of its own, so a terminal's Ctrl-C never reaches it: without
 * this, it would outlive the demo.
 */
function brokerStopsWithSignals(starting: Promise<DevBroker>, log: Logger): { stopping(): boolean; dispose(): void } {
  let stopping = false;
  const onSignal = (name: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.warn({ signal: name }, 'demo stopped on request: stopping its broker');
    void starting.then((b) => b.stop(), () => undefined).finally(() => process.exit(ExitCode.UNAVAILABLE));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return {
    stopping: () => stopping,
    dispose: () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    },
  };
}

/** `--rows`, or the deprecated `--records` in its place; checked before anything is started or removed. */
function demoRows(opts: { rows: string; records?: string }, cmd: Command): number {
  const fromRows = cmd.getOptionValueSource('rows') !== 'default';
  if (opts.records !== undefined && fromRows && opts.records !== opts.rows) {
    throw new SparkSyncError('USAGE', '--records is the old name of --rows, and they differ', { hint: 'pass --rows alone' });
  }
  const [flag, value] = opts.records !== undefined && !fromRows ? ['--records', opts.records] : ['--rows', opts.rows];
  const rows = Number(value);
  // A quarter of the rows is the batch size: at least one row.
  if (!Number.isSafeInteger(rows) || rows < 1) throw new SparkSyncError('USAGE', `${flag} must be a whole number ≥ 1, not '${value}'`);
  return rows;
}
