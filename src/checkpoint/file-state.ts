import { SparkSyncError } from '../errors/spark-sync-error';

/** A file's sync state (DESIGN.md §2). A file with no checkpoint row is NOT_STARTED. */
export type FileStatus = 'NOT_STARTED' | 'IN_PROGRESS' | 'COMPLETED';

/**
 * The only legal moves. IN_PROGRESS → IN_PROGRESS is a committed batch. Going back to NOT_STARTED
 * is not a transition: `reset` deletes the row, deliberately, under an operator's command.
 */
const VALID_TRANSITIONS: Record<FileStatus, readonly FileStatus[]> = {
  NOT_STARTED: ['IN_PROGRESS'],
  IN_PROGRESS: ['IN_PROGRESS', 'COMPLETED'],
  COMPLETED: [],
};

export function assertTransition(file: string, from: FileStatus, to: FileStatus): void {
  if (!VALID_TRANSITIONS[from].includes(to)) {
    throw new SparkSyncError('INTERNAL', `illegal checkpoint transition of ${file}: ${from} → ${to}`, {
      hint: 'this is a bug in spark-sync; the checkpoint was left unchanged',
    });
  }
}
