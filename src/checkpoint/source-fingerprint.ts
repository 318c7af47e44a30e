import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FileCheckpoint } from './rows';
import type { SourceFingerprint } from './file-checkpoints';

/**
 * A source file now against the fingerprint its checkpoint keeps (size, modification time,
 * rows): the one comparison behind submit's "source changed" refusal, the dry run's
 * SOURCE_CHANGED and status's SOURCE CHANGED. Returns what changed, or undefined.
 */
export function fingerprintChanged(cp: FileCheckpoint, now: SourceFingerprint): string | undefined {
  if (cp.sourceSizeBytes !== null && cp.sourceSizeBytes !== now.sizeBytes) return `size ${cp.sourceSizeBytes} → ${now.sizeBytes} bytes`;
  if (cp.sourceMtimeMs !== null && cp.sourceMtimeMs !== now.mtimeMs) return `modified ${new Date(cp.sourceMtimeMs).toISOString()} → ${new Date(now.mtimeMs).toISOString()}`;
  if (cp.totalRecords !== null && cp.totalRecords !== now.rows) return `rows ${cp.totalRecords} → ${now.rows}`;
  return undefined;
}

/**
 * The source file now against its fingerprint in the checkpoint, checked when the status is shown
 * (not stored): `changed` means size or modification time differ, so the file will not be
 * (re)sent until an operator restores it or resets it. Only local files are checked here;
 * `hdfs://` sources are checked by `submit`.
 */
export type SourceCheck = 'unchanged' | 'changed' | 'missing' | 'not checked';

export function checkSourceFile(cp: FileCheckpoint): SourceCheck {
  if (!cp.sourcePath.startsWith('file:')) return 'not checked';
  let stat: fs.Stats;
  try {
    stat = fs.statSync(fileURLToPath(cp.sourcePath));
  } catch {
    return 'missing';
  }
  // Size and time decide, as for a COMPLETED file in submit: counting rows means reading it.
  return fingerprintChanged(cp, { sizeBytes: stat.size, mtimeMs: Math.floor(stat.mtimeMs), rows: cp.totalRecords ?? 0 }) ? 'changed' : 'unchanged';
}
