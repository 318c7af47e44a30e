/**
 * Runs one submit through the library, as a notebook or a service does, in a child process (the
 * test runner starts no JVM): `node dist/test/helpers/library-submit-task.js '<json>'` with
 * `{ open: SparkSyncOptions, submit: SubmitInput }`. Prints the result's summary as one JSON
 * line; a SparkSyncError prints `{ error: { code, exitCode } }` and exits with its exit code.
 */
import { SparkSync, SparkSyncError } from '../../src/index';

async function main(): Promise<void> {
  const { open, submit } = JSON.parse(process.argv[2]) as { open: Parameters<typeof SparkSync.open>[0]; submit: Parameters<SparkSync['submit']>[0] };
  const sync = await SparkSync.open(open);
  const { fileTable, batchTable, ...summary } = await sync.submit(submit);
  process.stdout.write(`${JSON.stringify({ ...summary, fileRows: fileTable.numRows, batchRows: batchTable.numRows })}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    const e = err instanceof SparkSyncError ? err : undefined;
    process.stdout.write(`${JSON.stringify({ error: { code: e?.code ?? 'INTERNAL', exitCode: e?.exitCode ?? 1, message: (err as Error).message } })}\n`);
    process.exit(e?.exitCode ?? 1);
  },
);
