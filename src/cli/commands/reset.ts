import readline from 'node:readline/promises';
import { Command } from 'commander';
import { SparkSyncError } from '../../errors/spark-sync-error';
import { ResetInput, SparkSync } from '../../spark-sync';
import { globalOptions } from '../global-options';
import { addCheckpointOption, addKafkaOptions } from '../shared-options';
import { exitCodesHelp, printSummary } from '../output';

export function resetCommand(): Command {
  return addKafkaOptions(addCheckpointOption(new Command('reset')), "Kafka brokers, comma-separated (default: as the topic's last submit here reached them)")
    .description("forget files' checkpoints so the next submit resyncs them from the start (their messages stay in Kafka); with the checkpoint topic (the default) it needs --bootstrap-server and --topic")
    .option('--file <name>', 'the file identity, as `status` shows it')
    .option('--all', 'every file (of --topic, if given)')
    .option('--topic <topic>', 'only this topic')
    .option('--yes', 'do not ask for confirmation (required when stdin is not a terminal)')
    .option('--acknowledge', 'forget nothing: mark the files\' anomalies (unexpected records, see status) as seen, so their submits exit 0 again')
    .addHelpText('after', `\nExample:\n  spark-sync reset --file dt=2024-01-15/part-00000.parquet --topic transactions --bootstrap-server kafka1:9092 --yes\n${exitCodesHelp([0, 1, 2, 3, 4, 6])}`)
    .action(async (opts: ResetInput & { yes?: boolean }, cmd: Command) => {
      const { log } = globalOptions(cmd);
      // Reset never runs Spark: a small heap for the checkpoint topic's Kafka client.
      const sync = await SparkSync.open({ logger: log, driverMemory: '256m' });
      const summary = await sync.reset(opts, async (candidates) => {
        if (opts.yes) return true;
        const what = candidates.map((f) => `${f.topic}/${f.file} (${f.status}, ${f.recordsProcessed} records)`).join(', ');
        if (!process.stdin.isTTY) throw new SparkSyncError('USAGE', `reset would forget ${candidates.length} file(s): ${what}`, { hint: 'pass --yes to confirm when not at a terminal' });
        const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
        const answer = await rl.question(`Forget ${what}? Their next submit resends them in full. [y/N] `);
        rl.close();
        return /^y(es)?$/i.test(answer.trim());
      });
      // The CLI's documented summary keeps the checkpoint's column names.
      printSummary({
        command: 'reset', ok: true,
        reset: summary.reset.map((f) => ({ kafka_topic: f.topic, file_name: f.file, status: f.status, records_processed: f.recordsProcessed })),
        ...(summary.acknowledged ? { acknowledged: summary.acknowledged.map((f) => ({ kafka_topic: f.topic, file_name: f.file, unexpected_records: f.unexpectedRecords })) } : {}),
      });
    });
}
