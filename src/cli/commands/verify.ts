import { Command } from 'commander';
import path from 'node:path';
import { defaultCheckpointPath } from '../../config/paths';
import { TOPIC_NAME } from '../../config/submit-config';
import { ExitCode, SparkSyncError } from '../../errors/spark-sync-error';
import { parseBootstrapServers, sparkKafkaConf } from '../../kafka/kafka-admin';
import { SparkJobs } from '../../spark/spark-jobs';
import { runVerify } from '../../sync/verify-run';
import { globalOptions } from '../global-options';
import { printSummary } from '../output';

export function verifyCommand(): Command {
  return new Command('verify')
    .description("audit a topic against its sources: each file's missing, duplicated and foreign keys (run by Spark)")
    .requiredOption('--topic <topic>', 'the topic to audit')
    .requiredOption('--bootstrap-server <host:port>', 'Kafka brokers, comma-separated')
    .option('--checkpoint <file>', 'checkpoint file (default: $SPARK_SYNC_HOME/checkpoint.db)')
    .option('--master <url>', 'Spark master', 'local[*]')
    .option('--json', 'print the full report as one JSON object (it is always the last stdout line)')
    .addHelpText('after', '\nExample:\n  spark-sync verify --topic transactions --bootstrap-server 127.0.0.1:9092 --json\n\nExit codes: 0 every file clean, 5 a file has missing or duplicated keys.')
    .action(async (opts: { topic: string; bootstrapServer: string; checkpoint?: string; master: string; json?: boolean }, cmd: Command) => {
      const { log } = globalOptions(cmd);
      const bootstrapServers = parseBootstrapServers(opts.bootstrapServer);
      if (!TOPIC_NAME.test(opts.topic)) throw new SparkSyncError('USAGE', `--topic '${opts.topic}' is not a Kafka topic name`);
      const summary = await runVerify(
        { topic: opts.topic, bootstrapServers, checkpoint: path.resolve(opts.checkpoint ?? defaultCheckpointPath()), kafkaConf: sparkKafkaConf(bootstrapServers) },
        { log, spark: () => SparkJobs.start({ master: opts.master, conf: [] }) },
      );
      if (!opts.json) {
        for (const f of summary.files) {
          process.stdout.write(`${f.clean ? 'OK  ' : 'FAIL'} ${f.file}: ${f.sourceRows} rows, ${f.messages} messages, ${f.missing} missing, ${f.duplicated} duplicated, ${f.foreign} foreign\n`);
        }
      }
      printSummary(summary);
      if (!summary.ok) process.exitCode = ExitCode.VERIFY_FAILED;
    });
}
