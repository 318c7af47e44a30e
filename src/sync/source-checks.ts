import type { FileCheckpoint, SourceFingerprint } from '../checkpoint/checkpoint-store';
import { fingerprintChanged } from '../checkpoint/source-fingerprint';
import { SparkSyncError } from '../errors/spark-sync-error';
import type { SparkJobs } from '../spark/spark-jobs';

/**
 * How a COMPLETED file changed since it was synced, if it did. Size and modification time are
 * enough: a file that kept both kept its rows, and counting a CSV or JSON file's rows means
 * reading it.
 */
export async function completedFileChange(jobs: SparkJobs, cp: FileCheckpoint, uri: string): Promise<string | undefined> {
  const stat = await jobs.statFile(uri);
  return fingerprintChanged(cp, { ...stat, rows: cp.totalRecords ?? 0 });
}

/** A COMPLETED file that changed is not re-sent: the operator restores it or resets it. */
export function completedFileChanged(cp: FileCheckpoint, changed: string): SparkSyncError {
  return new SparkSyncError('SOURCE_CHANGED', `source file ${cp.fileName} changed after it was synced (${changed}); it is not re-sent`, {
    hint: `restore the original file, or run \`spark-sync reset --file ${cp.fileName}\` to resync it deliberately (its earlier messages stay in the topic)`,
  });
}

/** An IN_PROGRESS file continues only from the very file it started (DESIGN.md §2, recovery step 1). */
export function assertSourceUnchanged(cp: FileCheckpoint, fingerprint: SourceFingerprint): void {
  const changed = fingerprintChanged(cp, fingerprint);
  if (changed) {
    throw new SparkSyncError('SOURCE_CHANGED', `source file ${cp.fileName} changed since its sync started (${changed})`, {
      hint: `restore the original file, or run \`spark-sync reset --file ${cp.fileName}\` to resync it from the start (its messages so far stay in the topic)`,
    });
  }
}

/** A file resumed under reader options other than its start's could give other rows. */
export function assertSameFormat(cp: FileCheckpoint, format: string): void {
  if (cp.sourceFormat !== format) {
    throw new SparkSyncError('USAGE', `${cp.fileName} was started as ${cp.sourceFormat} but is now read as ${format}, which may give other rows`, {
      hint: 'rerun with the --format and --csv-* options it started with, or `spark-sync reset --file` it to resync from the start',
    });
  }
}
