import { Command } from 'commander';
import { toCheckpointRecord } from '../../checkpoint/checkpoint-report';
import { CheckpointStore } from '../../checkpoint/checkpoint-store';
import { defaultCheckpointPath } from '../../config/paths';
import { addCheckpointOption } from '../shared-options';
import { printSummary, statusTable } from '../output';

export function statusCommand(): Command {
  return addCheckpointOption(new Command('status'))
    .description("show every file's checkpoint")
    .option('--json', "print each file's checkpoint in the patent's structure, as one JSON object")
    .addHelpText('after', '\nExample:\n  spark-sync status --json | jq \'.files[] | select(.status != "COMPLETED")\'')
    .action(async (opts: { checkpoint?: string; json?: boolean }) => {
      const store = await CheckpointStore.open(opts.checkpoint ?? defaultCheckpointPath(), { create: false });
      try {
        const files = (await store.listFiles()).map(toCheckpointRecord);
        if (opts.json) printSummary({ command: 'status', checkpoint: store.file, files });
        else process.stdout.write(statusTable(files));
      } finally {
        await store.close();
      }
    });
}
