import { Command } from 'commander';
import path from 'node:path';
import { defaultCheckpointPath } from '../../config/paths';
import { SparkSync } from '../../spark-sync';
import { addCheckpointOption } from '../shared-options';
import { printSummary, statusTable } from '../output';

export function statusCommand(): Command {
  return addCheckpointOption(new Command('status'))
    .description("show every file's checkpoint")
    .option('--json', "print each file's checkpoint in the patent's structure, as one JSON object")
    .addHelpText('after', '\nExample:\n  spark-sync status --json | jq \'.files[] | select(.status != "COMPLETED")\'')
    .action(async (opts: { checkpoint?: string; json?: boolean }) => {
      const checkpoint = path.resolve(opts.checkpoint ?? defaultCheckpointPath());
      const files = await (await SparkSync.open()).status(checkpoint);
      if (opts.json) printSummary({ command: 'status', checkpoint, files });
      else process.stdout.write(statusTable(files));
    });
}
