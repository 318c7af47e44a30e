/**
 * The checkpoint's own failures, as the one-line errors an operator reads: a file that cannot be
 * used (exit 2, never written) and a disk that filled up under a write (exit 6). sqlite-db.ts maps
 * SQLite's and the file system's errors here, so every statement on the checkpoint says the same.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SparkSyncError } from '../errors/spark-sync-error';

/** Free space below which an unspecific I/O error of a write is taken for a full disk. */
const NEARLY_FULL_BYTES = 64 * 1024;

/** A checkpoint that must not be used or written: exit 2, the file left as it was. */
export function checkpointInvalid(file: string, why: string, cause?: unknown): SparkSyncError {
  return new SparkSyncError('CHECKPOINT_INVALID', `the checkpoint ${file} cannot be used: ${why}`, {
    cause,
    hint: 'it was left untouched; restore it from a backup or pass another --checkpoint',
  });
}

/**
 * A write that found the checkpoint's file system full: SQLite rolled the transaction back, so the
 * checkpoint holds its last commit, and a rerun continues from there (recovering a batch Kafka
 * took but the checkpoint could not store).
 */
export function checkpointDiskFull(file: string, cause?: unknown): SparkSyncError {
  const detail = cause instanceof Error ? ` (${cause.message.split('\n')[0]})` : '';
  return new SparkSyncError('CHECKPOINT_DISK_FULL', `the checkpoint ${file} could not be written: its disk is full${detail}; the checkpoint stays as of its last commit`, {
    cause,
    hint: `free space on the file system of ${path.dirname(file)} and rerun the same command`,
  });
}

/**
 * What an error of a statement on the checkpoint means for the operator: a full disk
 * (SQLITE_FULL, ENOSPC, or an I/O error while the file system has no room left), a damaged file
 * (SQLITE_CORRUPT, SQLITE_NOTADB), or else the error itself.
 */
export function explainSqliteError(file: string, err: unknown): unknown {
  if (err instanceof SparkSyncError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT' || (code === 'SQLITE_IOERR' && fileSystemFull(file))) {
    return checkpointDiskFull(file, err);
  }
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') {
    return checkpointInvalid(file, `it is not a SQLite database or is damaged (${(err as Error).message})${cutShort(file)}`, err);
  }
  return err;
}

/** Whether the file system holding `file` has (next to) no free space for this process. */
export function fileSystemFull(file: string): boolean {
  try {
    const s = fs.statfsSync(path.dirname(file));
    const blocks = process.getuid?.() === 0 ? s.bfree : s.bavail;
    return blocks * s.bsize < NEARLY_FULL_BYTES;
  } catch {
    return false;
  }
}

/**
 * '; …: it was cut short' when the file is shorter than its own header says it is (and no WAL
 * journal beside it holds the rest), else ''. Said because a truncated copy is the commonest
 * damage, and the fix (copy it again, whole) differs from a damaged disk's.
 */
function cutShort(file: string): string {
  try {
    if ((fs.statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0) > 0) return '';
    const header = Buffer.alloc(100);
    const fd = fs.openSync(file, 'r');
    try {
      if (fs.readSync(fd, header, 0, 100, 0) < 100) return '';
    } finally {
      fs.closeSync(fd);
    }
    if (header.toString('latin1', 0, 16) !== 'SQLite format 3\0') return '';
    const pageSize = header.readUInt16BE(16) === 1 ? 65536 : header.readUInt16BE(16);
    const pages = header.readUInt32BE(28);
    // The page count is valid only if written by the same change as the change counter.
    if (pages === 0 || header.readUInt32BE(92) !== header.readUInt32BE(24)) return '';
    const size = fs.statSync(file).size;
    return size < pages * pageSize ? `; the file holds ${size} bytes but its header counts ${pages} pages of ${pageSize}: it was cut short` : '';
  } catch {
    return '';
  }
}
