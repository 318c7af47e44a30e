import { Command } from 'commander';
import { SubmitInput } from '../../config/submit-config';
import { Logger } from '../../log/logger';
import { SyncEvent } from '../../sync/sync-events';
import { releaseHeldLeases } from '../../sync/submit-run';
import { SparkSyncError } from '../../errors/spark-sync-error';
import { SparkFlags, openSparkSync } from '../global-options';
import { addCheckpointOption, addKafkaOptions, addSparkOptions, setting } from '../shared-options';
import { exitCodesHelp, printSummary } from '../output';
import { ProgressDisplay } from '../progress';

export function submitCommand(): Command {
  const cmd = new Command('submit')
    .description('sync a source into a Kafka topic, exactly once across crashes and reruns')
    .option('--source <path>', 'a data file or a directory of them (a local path, file:// or hdfs:// URI), or hive:db.table (required)')
    .option('--where <predicate>', "with hive:db.table: the partitions to sync, e.g. \"dt >= '2024-01-01'\"")
    .option('--topic <topic>', 'the Kafka topic to write (required)')
    .option('--format <format>', 'parquet, orc, csv or json (JSON lines) for every file (default: from each file\'s extension)')
    .option('--csv-header', 'CSV files start with a header line naming the columns')
    .option('--csv-delimiter <char>', 'CSV field delimiter, one character (\\t for a tab)', ',');
  addKafkaOptions(cmd);
  addCheckpointOption(cmd)
    .addOption(setting('--batch-size <rows>', 'rows per committed batch', '1000000'))
    .option('--create-topic', 'create the topic if it does not exist')
    .option('--partitions <n>', 'partitions of a topic made by --create-topic (default 1)')
    .option('--lineage-headers', 'add the headers spark-sync.file and spark-sync.position (the row\'s file and position) to every record, for consumers that trace a record to its row; off by default, as spark-sync identifies records by their key')
    .addOption(setting('--dead-letter-topic <topic>', 'send rows Kafka refuses as too large there (with headers saying why) instead of stopping with exit 2; made by --create-topic if missing'))
    .addOption(setting('--key-fields <columns>', 'natural-key identity: a record is these columns\' values (comma-separated); duplicates in a file and rows the topic already has from any file or run are not sent'))
    .addOption(setting('--message-key <columns>', 'Kafka message key: this column\'s text (several, comma-separated: a JSON object of their texts), partitioned as Kafka\'s default partitioner does; spark-sync\'s identity goes in the header spark-sync.id'))
    .addOption(setting('--index-location <uri>', 'natural keys: the folder of the identity indexes, any Hadoop file system URI every executor and later run can read (hdfs://…, file://…); default beside the local checkpoint'))
    .addOption(setting('--replication-factor <n>', "replication factor of a topic made by --create-topic (default: the broker's default.replication.factor)"));
  addSparkOptions(cmd);
  return cmd
    .option('--dry-run', 'plan only: list the files, records and batches a submit would send; writes nothing and does not contact Kafka')
    .addOption(setting('--recovery <mode>', 'after a crash: window (join one batch against its Kafka offsets) or full (the whole file)', 'window'))
    .addHelpText('after', `
Example:
  spark-sync submit --source /data/txn_2024_01_15.parquet --topic transactions \\
    --bootstrap-server 127.0.0.1:9092 --create-topic --partitions 6 --batch-size 500000
  spark-sync submit --source hdfs://namenode:8020/warehouse/events --topic events \\
    --bootstrap-server kafka1:9092 --format csv --csv-header
  spark-sync submit --source /data/events --topic events --bootstrap-server kafka1:9092 --dry-run
  spark-sync submit --source /landing/clicks --topic clicks --bootstrap-server kafka1:9092 \\
    --key-fields user,event,ts --message-key user   # replays no-op, keyed by user
  spark-sync submit --source hive:sales.transactions --where "dt = '2024-01-15'" --topic transactions \\
    --bootstrap-server kafka1:9092 --conf spark.hadoop.hive.metastore.uris=thrift://metastore:9083
  spark-sync submit --source /data/events --topic events --bootstrap-server kafka1:9093 \\
    --kafka-config /etc/spark-sync/client.properties   # security.protocol=SASL_SSL, sasl.*, ssl.*
  SPARK_SYNC_BOOTSTRAP_SERVER=kafka1:9092 spark-sync --config spark-sync.yaml submit --source /data/events --topic events

A directory is synced file by file (hidden files, _SUCCESS and .crc are skipped); each file is
known by its path relative to the directory, and a rerun sends only new or unfinished files.
A Hive table is synced the same way, file by file of its (selected) partitions, each known by
its path relative to the table's location. Without hive.metastore.uris, the metastore is an
embedded Derby database in $SPARK_SYNC_HOME.

Settings come from flags, then SPARK_SYNC_* variables (shown above as env), then the YAML
file of --config / SPARK_SYNC_CONFIG (keys are the long option names).

Rerunning the same command after a crash continues where the checkpoint stands; rerunning it
after success sends nothing. SIGTERM or Ctrl-C cancels the running Spark job and exits 3 within
30 s, the checkpoint consistent; a second signal exits at once.
${exitCodesHelp([0, 1, 2, 3, 4, 6])}`)
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      // Flags arrive untyped; the engine validates every one (a missing --source included) before any I/O.
      // The Spark flags open the session; the rest is the submit's (which refuses Spark settings).
      const { master, conf, driverMemory, jars, ...rest } = opts;
      const input = rest as unknown as SubmitInput;
      const { sync, log, logFormat } = await openSparkSync({ ...rest, master, conf, driverMemory, jars } as SparkFlags, cmd);
      if (opts.dryRun) {
        const plan = await sync.dryRun(input);
        for (const f of plan.files) log.info({ file: f.file, status: f.status, total_records: f.totalRecords, records_processed: f.recordsProcessed, to_send: f.toSend, batches: f.batches }, `would send ${f.toSend} records of ${f.file} in ${f.batches} batches`);
        log.info({ files: plan.files.length, records_to_send: plan.recordsToSend, batches: plan.batches }, `dry run: ${plan.recordsToSend} records in ${plan.batches} batches would go to ${plan.topic}; nothing was written`);
        printSummary(plan);
        return;
      }
      const stop = stopOnSignals(log);
      const progress = ProgressDisplay.forTerminal(logFormat, Number(input.batchSize ?? 1_000_000));
      sync.on('event', (e) => {
        if (!progress?.update(e)) logEvent(log, e);
      });
      try {
        const { fileTable, batchTable, ...summary } = await sync.submit(input, { signal: stop.signal });
        progress?.stop();
        log.info({ records_sent: summary.recordsSent, seconds: summary.seconds, records_per_second: summary.recordsPerSecond }, `done: ${summary.recordsSent} records sent to ${summary.topic}`);
        printSummary(summary);
      } finally {
        progress?.stop();
        stop.dispose();
      }
    });
}

function logEvent(log: Logger, e: SyncEvent): void {
  switch (e.type) {
    case 'run-planned':
      log.info({ topic: e.topic, files: e.files }, `planned ${e.files} file(s)`);
      break;
    case 'file-started':
      log.info({ file: e.file, topic: e.topic, total_records: e.totalRecords, records_processed: e.recordsProcessed, resumed: e.resumed, input_splits: e.inputSplits }, 'starting file');
      break;
    case 'batch-committed':
      log.info({ file: e.file, batch: e.batchIndex, records: e.records, skipped: e.skipped, dead_lettered: e.deadLettered, records_processed: e.recordsProcessed, total_records: e.totalRecords, seconds: e.seconds, checkpoint_seconds: e.checkpointSeconds, ...(e.indexedFrom ? { index_from: e.indexedFrom } : {}) }, 'batch committed');
      break;
    case 'file-recovered':
      log.info({ file: e.file, mode: e.mode, method: e.method, found_in_kafka: e.foundInKafka, delta_written: e.deltaWritten, unexpected_records: e.unexpectedRecords, records_processed: e.recordsProcessed, seconds: e.seconds, source_bytes_read: e.sourceBytesRead }, 'recovered a batch cut off by a crash');
      break;
    case 'file-completed':
      log.info({ file: e.file, records: e.records, batches: e.batches, seconds: e.seconds }, 'file completed');
      break;
    case 'file-skipped':
      log.info({ file: e.file, reason: e.reason }, 'file already synced; nothing to send');
      break;
  }
}

/**
 * SIGTERM (Airflow's on_kill, a timeout) or Ctrl-C stops the run: the running Spark job is
 * cancelled, its tasks stop writing, the lease is released, and the run fails with INTERRUPTED
 * (exit 3) and its summary line, within about 30 s. A second signal exits at once, also with
 * exit 3, after giving up the lease (at most 2 s): the batch being written is cut off, and the
 * next run recovers it as after a crash.
 */
function stopOnSignals(log: Logger): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      void exitNow(name);
      return;
    }
    log.warn({ signal: name }, 'stopping: cancelling the running Spark job (send again to exit at once)');
    controller.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      // Stopped on a signal and about to exit: a late second one must not kill the process
      // before it has printed its summary.
      if (controller.signal.aborted) {
        process.on('SIGTERM', () => undefined);
        process.on('SIGINT', () => undefined);
      }
    },
  };
}

async function exitNow(signal: NodeJS.Signals): Promise<never> {
  await releaseHeldLeases(2_000);
  const e = new SparkSyncError('INTERRUPTED', `stopped at once on a second ${signal}: the batch being written was cut off`, {
    hint: 'rerun the same command; it recovers the cut-off batch as after a crash',
  });
  process.stderr.write(`spark-sync: error [${e.code}]: ${e.oneLine()}\n`);
  printSummary({ ok: false, error: { code: e.code, exit_code: e.exitCode, retriable: e.retriable, message: e.oneLine() } });
  process.exit(e.exitCode);
}
