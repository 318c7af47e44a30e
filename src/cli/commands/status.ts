import { Command } from 'commander';
import path from 'node:path';
import { checkpointRecord } from '../../checkpoint/checkpoint-report';
import { defaultCheckpointPath } from '../../config/paths';
import { SparkSync, StatusInput } from '../../spark-sync';
import { addCheckpointOption, addKafkaOptions } from '../shared-options';
import { exitCodesHelp, printSummary, statusTable } from '../output';

export function statusCommand(): Command {
  const cmd = addCheckpointOption(new Command('status'))
    .description("show every file's checkpoint: the local file's, or with --bootstrap-server and --topic the checkpoint topic's (on any machine)")
    .option('--topic <topic>', 'with --bootstrap-server: the topic whose state to read from the checkpoint topic');
  addKafkaOptions(cmd, 'with --topic: the Kafka brokers whose checkpoint topic to read, comma-separated');
  return cmd
    .option('--json', "print each file's checkpoint record (status, offsets per partition, records processed, …) as one JSON object")
    .addHelpText('after', `
Example:
  spark-sync status --json | jq '.files[] | select(.status != "COMPLETED")'
  spark-sync status --bootstrap-server kafka1:9092 --topic events   # from the checkpoint topic, no local file needed
${exitCodesHelp([0, 1, 2, 3])}`)
    .action(async (opts: StatusInput & { json?: boolean }) => {
      const fromKafka = opts.bootstrapServer !== undefined && opts.topic !== undefined && opts.checkpointTopic !== 'none';
      const checkpoint = path.resolve(opts.checkpoint ?? defaultCheckpointPath());
      // Status never runs Spark: a small heap for the checkpoint topic's Kafka client.
      const files = (await (await SparkSync.open({ driverMemory: '256m' })).status({ ...opts, checkpoint })).map(checkpointRecord);
      if (opts.json) printSummary({ command: 'status', checkpoint: fromKafka ? `kafka topic ${opts.checkpointTopic}` : checkpoint, files });
      else process.stdout.write(statusTable(files));
    });
}
