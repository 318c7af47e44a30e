/**
 * Opening the checkpoint file, and refusing one that must not be written: a foreign SQLite file,
 * a damaged one (cut short, a garbled page), one from a newer spark-sync, one whose rows hold an
 * impossible state, or one in a folder it cannot be read or written in. Every check runs before
 * the PRAGMAs and migrations, the first writes to an existing file, so a refused file is left
 * byte for byte.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SparkSyncError } from '../errors/spark-sync-error';
import { checkpointDiskFull, checkpointInvalid } from './checkpoint-errors';
import { checkRows } from './consistency-check';
import { APPLICATION_ID, SCHEMA_VERSION, migrate } from './schema';
import { SqliteDb } from './sqlite-db';

export interface OpenOptions {
  create: boolean;
  write?: boolean;
}

/** An open, checked checkpoint connection and the absolute path of its file. */
export interface OpenedCheckpoint {
  db: SqliteDb;
  file: string;
}

export async function openCheckpoint(file: string, options: OpenOptions): Promise<OpenedCheckpoint> {
  const writable = options.create || options.write === true;
  const absolute = path.resolve(file);
  if (!fs.existsSync(absolute)) {
    if (!options.create) {
      throw new SparkSyncError('CHECKPOINT_INVALID', `no checkpoint at ${absolute}`, {
        hint: 'pass the --checkpoint a submit used, or set SPARK_SYNC_HOME',
      });
    }
    createPrivateFile(absolute);
  }
  if (writable) writableAccess(absolute);
  // The checks read through a read-only connection, also for a writer: the last writable
  // connection to close folds the -wal into the file, which would rewrite a refused file.
  const reader = await connect(absolute, writable ? 'readonly' : readOnlyAccess(absolute));
  try {
    const version = await checkIdentity(reader, absolute);
    if (version > 0) await checkRowsOf(reader, absolute);
  } catch (err) {
    await reader.close().catch(() => undefined);
    throw err;
  }
  if (!writable) return { db: reader, file: absolute };
  await reader.close();
  const db = await connect(absolute, 'readwrite');
  try {
    await db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;');
    await migrate(db);
    return { db, file: absolute };
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
}

async function connect(file: string, access: 'readwrite' | 'readonly' | 'immutable'): Promise<SqliteDb> {
  try {
    return await SqliteDb.open(file, access);
  } catch (err) {
    if (err instanceof SparkSyncError) throw err;
    throw invalid(file, `SQLite cannot open it (${(err as Error).message})`, err);
  }
}

/** SQLite's full check of every page and index (open runs only the quicker `quick_check`). */
export async function integrityCheck(db: SqliteDb): Promise<string> {
  const rows = await db.all<{ integrity_check: string }>('PRAGMA integrity_check');
  return rows.map((r) => r.integrity_check).join('; ');
}

function createPrivateFile(file: string): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    // An empty file is a valid empty SQLite database; SQLite gives its -wal and -shm files the same mode.
    fs.closeSync(fs.openSync(file, 'wx', 0o600));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') throw checkpointDiskFull(file, err);
    throw new SparkSyncError('CHECKPOINT_INVALID', `the checkpoint ${file} cannot be created (${(err as Error).message})`, {
      cause: err,
      hint: 'pass a --checkpoint in a folder spark-sync may write, or set SPARK_SYNC_HOME',
    });
  }
}

/**
 * A writer needs the file and its folder writable: SQLite writes its -wal and -shm files beside
 * the file. Checked first, so a read-only checkpoint is refused in one line instead of failing at
 * its first write.
 */
function writableAccess(file: string): void {
  for (const [what, target] of [['its folder', path.dirname(file)], ['the file', file]] as const) {
    const denied = accessError(target, fs.constants.W_OK);
    if (denied) {
      throw new SparkSyncError('CHECKPOINT_INVALID', `the checkpoint ${file} cannot be written: ${what}${what === 'its folder' ? ` ${target}` : ''} ${notWritable(denied)}`, {
        hint: 'spark-sync writes the file and its -wal and -shm journal files beside it; make it writable, or pass a --checkpoint on a writable file system; nothing was changed',
      });
    }
  }
}

/**
 * How a reader opens the file. SQLite reads a WAL-mode file through its -wal and -shm files and
 * creates them when missing, which it cannot in a read-only folder (a read-only mount, a backup).
 * There, with both present, it reads them as they are; with no -wal holding commits, the file
 * alone is the whole checkpoint, read as immutable; a -wal holding commits but no -shm cannot be
 * read without creating one: refused, with what to do.
 */
function readOnlyAccess(file: string): 'readonly' | 'immutable' {
  const folder = path.dirname(file);
  const denied = accessError(folder, fs.constants.W_OK);
  if (!denied) return 'readonly';
  const walBytes = fs.statSync(`${file}-wal`, { throwIfNoEntry: false })?.size;
  const shm = fs.existsSync(`${file}-shm`);
  // Both present, or a rollback journal (not a checkpoint's): SQLite reads or refuses it itself.
  if ((walBytes !== undefined && shm) || fs.existsSync(`${file}-journal`)) return 'readonly';
  if (!walBytes) return 'immutable';
  const base = path.basename(file);
  throw new SparkSyncError('CHECKPOINT_INVALID', `the checkpoint ${file} cannot be read: its folder ${folder} ${notWritable(denied)} and its WAL journal ${base}-wal holds commits not yet in the file, which SQLite reads only through a ${base}-shm index it would have to create beside it`, {
    hint: `make the folder writable and rerun, or copy ${base} and ${base}-wal together into a writable folder and pass that --checkpoint; nothing was changed`,
  });
}

function notWritable(code: string): string {
  return code === 'EROFS' ? 'is read-only (EROFS)' : `is not writable by this user (${code})`;
}

/** The errno code (EROFS, EACCES, …) if this process may not access `target` so, else undefined. */
function accessError(target: string, mode: number): string | undefined {
  try {
    fs.accessSync(target, mode);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}

/** Checks the file is a healthy spark-sync checkpoint this code can read; returns its schema version. */
async function checkIdentity(db: SqliteDb, file: string): Promise<number> {
  let appId: number;
  let version: number;
  let tables: number;
  try {
    appId = (await db.get<{ application_id: number }>('PRAGMA application_id'))!.application_id;
    version = (await db.get<{ user_version: number }>('PRAGMA user_version'))!.user_version;
    tables = (await db.get<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'"))!.n;
  } catch (err) {
    throw err instanceof SparkSyncError ? err : invalid(file, `it is not a SQLite database or is damaged (${(err as Error).message})`, err);
  }
  // A file with no tables is one we just created (or an empty one): it has no identity yet.
  if (tables > 0 && appId !== APPLICATION_ID) {
    throw invalid(file, 'it is a SQLite database of another application, not a spark-sync checkpoint');
  }
  if (version > SCHEMA_VERSION) {
    throw invalid(file, `it was written by a newer spark-sync (schema ${version}, this one reads up to ${SCHEMA_VERSION})`);
  }
  let check: Array<{ quick_check: string }>;
  try {
    check = await db.all<{ quick_check: string }>('PRAGMA quick_check');
  } catch (err) {
    // A page too garbled to walk stops the check itself.
    throw err instanceof SparkSyncError ? err : invalid(file, `SQLite's integrity check failed (${(err as Error).message})`, err);
  }
  if (check.length !== 1 || check[0].quick_check !== 'ok') {
    throw invalid(file, `SQLite's integrity check failed: ${check.map((c) => c.quick_check).slice(0, 3).join('; ')}`);
  }
  return version;
}

/** Refuses a checkpoint whose rows hold a state no sequence of spark-sync's writes can produce. */
async function checkRowsOf(db: SqliteDb, file: string): Promise<void> {
  let impossible: string | undefined;
  try {
    impossible = await checkRows(db);
  } catch (err) {
    throw err instanceof SparkSyncError ? err : invalid(file, `its tables are not a spark-sync checkpoint's (${(err as Error).message})`, err);
  }
  if (impossible) throw invalid(file, impossible);
}

function invalid(file: string, why: string, cause?: unknown): SparkSyncError {
  return checkpointInvalid(file, why, cause);
}
