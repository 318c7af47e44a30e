import path from 'node:path';
import { Command, Option } from 'commander';
import { SparkSyncError } from '../../errors/spark-sync-error';
import { SparkSync } from '../../spark-sync';
import { globalOptions } from '../global-options';
import { exitCodesHelp, printSummary } from '../output';

export function sampleCommand(): Command {
  return new Command('sample')
    .description('write a deterministic sample Parquet or ORC file (row i is a pure function of i), for trials and benchmarks')
    .requiredOption('--output <file>', 'the file to write (replaced if it exists)')
    .addOption(new Option('--format <format>', 'file format').choices(['parquet', 'orc']).default('parquet'))
    .option('--rows <n>', 'number of rows', '100000')
    .option('--row-group-bytes <n>', 'Parquet row-group (ORC stripe) size; small values give many splits', String(8 * 1024 * 1024))
    .addHelpText('after', `\nExample:\n  spark-sync sample --rows 1000000 --output /tmp/txn.parquet\n${exitCodesHelp([0, 1, 2])}`)
    .action(async (opts: { output: string; format: 'parquet' | 'orc'; rows: string; rowGroupBytes: string }, cmd: Command) => {
      const { log } = globalOptions(cmd);
      const rows = Number(opts.rows);
      const rowGroupBytes = Number(opts.rowGroupBytes);
      if (!Number.isSafeInteger(rows) || rows < 0) throw new SparkSyncError('USAGE', `--rows must be a whole number ≥ 0, not '${opts.rows}'`);
      if (!Number.isSafeInteger(rowGroupBytes) || rowGroupBytes < 1024) throw new SparkSyncError('USAGE', `--row-group-bytes must be a whole number ≥ 1024, not '${opts.rowGroupBytes}'`);
      const output = path.resolve(opts.output);
      await (await SparkSync.open({ master: 'local[*]' })).writeSample(output, { rows, format: opts.format, rowGroupBytes });
      log.info({ output, rows, format: opts.format }, 'sample written');
      printSummary({ command: 'sample', output, format: opts.format, rows });
    });
}
