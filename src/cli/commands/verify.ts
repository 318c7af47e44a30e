import { Command } from 'commander';
import { VerifyInput } from '../../config/verify-config';
import { ExitCode } from '../../errors/spark-sync-error';
import { openSparkSync } from '../global-options';
import { exitCodesHelp, printSummary } from '../output';
import { addCheckpointOption, addKafkaOptions, addSparkOptions } from '../shared-options';

type VerifyOptions = VerifyInput & { master?: string; conf?: string[]; driverMemory?: string; jars?: string[]; json?: boolean };

export function verifyCommand(): Command {
  const cmd = new Command('verify').description("audit a topic against its sources: each file's missing, duplicated and foreign keys (run by Spark)")
    .option('--topic <topic>', 'the topic to audit (required)');
  addKafkaOptions(cmd);
  addCheckpointOption(cmd);
  addSparkOptions(cmd);
  return cmd
    .option('--scope <scope>', "range: each file's keys against its own offset ranges; topic: against every record of the topic, so copies outside a file's ranges count as duplicated (reads the whole topic)", 'range')
    .option('--json', 'print the full report as one JSON object (it is always the last stdout line)')
    .addHelpText('after', `
Example:
  spark-sync verify --topic transactions --bootstrap-server 127.0.0.1:9092 --json
  spark-sync verify --topic transactions --bootstrap-server 127.0.0.1:9092 --scope topic
${exitCodesHelp([0, 1, 2, 3, 5], { 0: 'every file clean', 5: "a file has missing, duplicated or foreign keys in its offset range (with --scope topic: copies anywhere in the topic), or the topic holds records in no file's range (unaccounted)" })}`)
    .action(async (opts: VerifyOptions, cmd: Command) => {
      const { sync } = await openSparkSync(opts, cmd);
      const summary = await sync.verify(opts);
      if (!opts.json) {
        for (const f of summary.files) {
          process.stdout.write(`${f.clean ? 'OK  ' : 'FAIL'} ${f.file}: ${f.sourceRows} rows, ${f.messages} messages, ${f.missing} missing, ${f.duplicated} duplicated, ${f.foreign} foreign, ${f.deadLettered} dead-lettered${summary.scope === 'topic' ? `, ${f.outsideRange} outside its range` : ''}\n`);
        }
        for (const n of summary.naturalKeys) {
          process.stdout.write(`${n.clean ? 'OK  ' : 'FAIL'} ${n.files.length} file(s) by --key-fields ${n.keyFields.join(',')}: ${n.sourceIdentities} distinct identities, ${n.messages} messages, ${n.missing} missing, ${n.duplicated} duplicated, ${n.foreign} foreign, ${n.deadLettered} dead-lettered\n`);
        }
        if (summary.unaccounted > 0) process.stdout.write(`FAIL ${summary.unaccounted} record(s) of ${summary.topic} lie in no file's offset range\n`);
        if (summary.pending > 0) process.stdout.write(`NOTE ${summary.pending} record(s) past an unfinished file's checkpoint: its cut-off batch, recovered by the next submit\n`);
      }
      printSummary(summary);
      if (!summary.ok) process.exitCode = ExitCode.VERIFY_FAILED;
    });
}
