import readline from 'node:readline/promises';
import { Command } from 'commander';
import { CheckpointStore, LEASE_STALE_MS } from '../../checkpoint/checkpoint-store';
import { defaultCheckpointPath } from '../../config/paths';
import { SparkSyncError } from '../../errors/spark-sync-error';
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
    .addHelpText('after', '\nExample:\n  spark-sync reset --file dt=2024-01-15/part-00000.parquet --topic transactions --yes')
    .action(async (opts: { file?: string; all?: boolean; topic?: string; checkpoint?: string; yes?: boolean }, cmd: Command) => {
      const { log } = globalOptions(cmd);
      if (!!opts.file === !!opts.all) throw new SparkSyncError('USAGE', 'reset needs exactly one of --file <name> or --all');
      const store = await CheckpointStore.open(opts.checkpoint ?? defaultCheckpointPath(), { create: false, write: true });
      try {
        const candidates = (await store.listFiles(opts.topic)).filter((f) => opts.all || f.fileName === opts.file);
        if (candidates.length === 0) {
          throw new SparkSyncError('USAGE', `no file${opts.file ? ` named ${opts.file}` : 's'}${opts.topic ? ` of topic ${opts.topic}` : ''} in ${store.file}`, { hint: 'see `spark-sync status`' });
        }
        const what = candidates.map((f) => `${f.topic}/${f.fileName} (${f.status}, ${f.recordsProcessed} records)`).join(', ');
        if (!opts.yes) {
          if (!process.stdin.isTTY) throw new SparkSyncError('USAGE', `reset would forget ${candidates.length} file(s): ${what}`, { hint: 'pass --yes to confirm when not at a terminal' });
          const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
          const answer = await rl.question(`Forget ${what}? Their next submit resends them in full. [y/N] `);
          rl.close();
          if (!/^y(es)?$/i.test(answer.trim())) {
            printSummary({ command: 'reset', ok: true, reset: [] });
            return;
          }
        }
        const removed = await store.resetFiles({ topic: opts.topic, fileName: opts.file }, LEASE_STALE_MS);
        log.info({ files: removed.map((f) => `${f.topic}/${f.fileName}`) }, `forgot ${removed.length} file(s)`);
        printSummary({ command: 'reset', ok: true, reset: removed.map((f) => ({ kafka_topic: f.topic, file_name: f.fileName, status: f.status, records_processed: f.recordsProcessed })) });
      } finally {
        await store.close();
      }
    });
}
