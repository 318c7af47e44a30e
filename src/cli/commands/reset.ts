import readline from 'node:readline/promises';
import { Command } from 'commander';
import { SparkSyncError } from '../../errors/spark-sync-error';
import { SparkSync } from '../../spark-sync';
import { globalOptions } from '../global-options';
import { addCheckpointOption } from '../shared-options';
import { printSummary } from '../output';

export function resetCommand(): Command {
  return addCheckpointOption(new Command('reset'))
    .description("forget files' checkpoints so the next submit resyncs them from the start (their messages stay in Kafka)")
    .option('--file <name>', 'the file identity, as `status` shows it')
    .option('--all', 'every file (of --topic, if given)')
    .option('--topic <topic>', 'only this topic')
    .option('--yes', 'do not ask for confirmation (required when stdin is not a terminal)')
    .option('--acknowledge', 'forget nothing: mark the files\' anomalies (unexpected records, see status) as seen, so their submits exit 0 again')
    .addHelpText('after', '\nExample:\n  spark-sync reset --file dt=2024-01-15/part-00000.parquet --topic transactions --yes')
    .action(async (opts: { file?: string; all?: boolean; topic?: string; checkpoint?: string; yes?: boolean; acknowledge?: boolean }, cmd: Command) => {
      const { log } = globalOptions(cmd);
      const sync = await SparkSync.open({ logger: log });
      const summary = await sync.reset(opts, async (candidates) => {
        if (opts.yes) return true;
        const what = candidates.map((f) => `${f.topic}/${f.fileName} (${f.status}, ${f.recordsProcessed} records)`).join(', ');
        if (!process.stdin.isTTY) throw new SparkSyncError('USAGE', `reset would forget ${candidates.length} file(s): ${what}`, { hint: 'pass --yes to confirm when not at a terminal' });
        const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
        const answer = await rl.question(`Forget ${what}? Their next submit resends them in full. [y/N] `);
        rl.close();
        return /^y(es)?$/i.test(answer.trim());
      });
      printSummary(summary);
    });
}
