/**
 * Opening the checkpoint file, and refusing one that must not be written: a foreign SQLite file,
 * a damaged one, or one from a newer spark-sync. Every check runs before the PRAGMAs and
 * migrations, the first writes to an existing file, so a refused file is left byte for byte.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SparkSyncError } from '../errors/spark-sync-error';
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
  let db: SqliteDb;
  try {
    db = await SqliteDb.open(absolute, writable ? 'readwrite' : 'readonly');
  } catch (err) {
    throw invalid(absolute, `SQLite cannot open it (${(err as Error).message})`, err);
  }
  try {
    await checkIdentity(db, absolute);
    if (writable) {
      await db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;');
      await migrate(db);
    }
    return { db, file: absolute };
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
}

/** SQLite's full check of every page and index (open runs only the quicker `quick_check`). */
export async function integrityCheck(db: SqliteDb): Promise<string> {
  const rows = await db.all<{ integrity_check: string }>('PRAGMA integrity_check');
  return rows.map((r) => r.integrity_check).join('; ');
}

function createPrivateFile(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // An empty file is a valid empty SQLite database; SQLite gives its -wal and -shm files the same mode.
  fs.closeSync(fs.openSync(file, 'wx', 0o600));
}

async function checkIdentity(db: SqliteDb, file: string): Promise<void> {
  let appId: number;
  let version: number;
  let tables: number;
  try {
    appId = (await db.get<{ application_id: number }>('PRAGMA application_id'))!.application_id;
    version = (await db.get<{ user_version: number }>('PRAGMA user_version'))!.user_version;
    tables = (await db.get<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'"))!.n;
  } catch (err) {
    throw invalid(file, `it is not a SQLite database or is damaged (${(err as Error).message})`, err);
  }
  // A file with no tables is one we just created (or an empty one): it has no identity yet.
  if (tables > 0 && appId !== APPLICATION_ID) {
    throw invalid(file, 'it is a SQLite database of another application, not a spark-sync checkpoint');
  }
  if (version > SCHEMA_VERSION) {
    throw invalid(file, `it was written by a newer spark-sync (schema ${version}, this one reads up to ${SCHEMA_VERSION})`);
  }
  const check = await db.all<{ quick_check: string }>('PRAGMA quick_check');
  if (check.length !== 1 || check[0].quick_check !== 'ok') {
    throw invalid(file, `SQLite's integrity check failed: ${check.map((c) => c.quick_check).slice(0, 3).join('; ')}`);
  }
}

function invalid(file: string, why: string, cause?: unknown): SparkSyncError {
  return new SparkSyncError('CHECKPOINT_INVALID', `the checkpoint ${file} cannot be used: ${why}`, {
    cause,
    hint: 'it was left untouched; restore it from a backup or pass another --checkpoint',
  });
}
