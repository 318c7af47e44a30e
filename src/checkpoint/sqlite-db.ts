import { pathToFileURL } from 'node:url';
import sqlite3 from 'sqlite3';
import { explainSqliteError } from './checkpoint-errors';

export type SqlValue = string | number | bigint | null;

/**
 * A promise face on one sqlite3 connection. Every statement runs through one queue, so a
 * transaction's statements never interleave with another caller's (the lease heartbeat runs on a
 * timer while a batch commits). A statement's error that means a full disk or a damaged file
 * comes out as the operator's SparkSyncError (checkpoint-errors.ts), naming the file.
 */
export class SqliteDb {
  private queue: Promise<unknown> = Promise.resolve();
  /** Runs inside every transaction that touched a file, before it commits (see {@link onCommit}). */
  private commitHook?: CommitHook;

  private constructor(
    private readonly db: sqlite3.Database,
    private readonly file: string,
  ) {}

  /**
   * `immutable` reads the file alone, without the -wal and -shm files SQLite would otherwise
   * create beside it: only for a file no process writes and whose folder is read-only.
   */
  static open(file: string, mode: 'readwrite' | 'readonly' | 'immutable'): Promise<SqliteDb> {
    const flags = mode === 'readwrite' ? sqlite3.OPEN_READWRITE : mode === 'readonly' ? sqlite3.OPEN_READONLY : sqlite3.OPEN_READONLY | sqlite3.OPEN_URI;
    const name = mode === 'immutable' ? `${pathToFileURL(file).href}?immutable=1` : file;
    return new Promise((resolve, reject) => {
      const db = new sqlite3.Database(name, flags, (err) => (err ? reject(explainSqliteError(file, err)) : resolve(new SqliteDb(db, file))));
    });
  }

  run(sql: string, params: SqlValue[] = []): Promise<number> {
    return this.enqueue(() => this.rawRun(sql, params));
  }

  get<T>(sql: string, params: SqlValue[] = []): Promise<T | undefined> {
    return this.enqueue(() => this.rawGet<T>(sql, params));
  }

  all<T>(sql: string, params: SqlValue[] = []): Promise<T[]> {
    return this.enqueue(() => this.rawAll<T>(sql, params));
  }

  exec(sql: string): Promise<void> {
    return this.enqueue(() => new Promise<void>((resolve, reject) => this.db.exec(sql, (err) => (err ? reject(err) : resolve()))));
  }

  /**
   * Runs `work` in one IMMEDIATE transaction: all of it commits or none of it does. `work` gets a
   * handle whose statements bypass the queue (the queue is held for the whole transaction).
   */
  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.enqueue(async () => {
      await this.rawRun('BEGIN IMMEDIATE', []);
      try {
        const touched = new Map<string, { topic: string; file: string }>();
        const tx: Tx = {
          run: (sql, params = []) => this.rawRun(sql, params),
          get: <R>(sql: string, params: SqlValue[] = []) => this.rawGet<R>(sql, params),
          all: <R>(sql: string, params: SqlValue[] = []) => this.rawAll<R>(sql, params),
          touch: (topic, file) => void touched.set(JSON.stringify([topic, file]), { topic, file }),
        };
        const result = await work(tx);
        // The checkpoint's other copy learns of the change first; a failure there rolls it back.
        if (this.commitHook && touched.size > 0) await this.commitHook(tx, [...touched.values()]);
        await this.rawRun('COMMIT', []);
        return result;
      } catch (err) {
        await this.rawRun('ROLLBACK', []).catch(() => undefined);
        throw err;
      }
    });
  }

  /**
   * Sets what runs inside every transaction that changed a file's checkpoint, after its
   * statements and before COMMIT: publishing the change to the checkpoint topic. If it throws,
   * the transaction rolls back, so the local file never runs ahead of the authoritative copy.
   */
  onCommit(hook: CommitHook | undefined): void {
    this.commitHook = hook;
  }

  close(): Promise<void> {
    return this.enqueue(() => new Promise<void>((resolve, reject) => this.db.close((err) => (err ? reject(err) : resolve()))));
  }

  private enqueue<T>(op: () => Promise<T>): Promise<T> {
    const next = this.queue.then(op, op).catch((err: unknown) => {
      throw explainSqliteError(this.file, err);
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  private rawRun(sql: string, params: SqlValue[]): Promise<number> {
    return new Promise((resolve, reject) =>
      this.db.run(sql, params, function (err) {
        if (err) reject(err);
        else resolve(this.changes);
      }),
    );
  }

  private rawGet<T>(sql: string, params: SqlValue[]): Promise<T | undefined> {
    return new Promise((resolve, reject) => this.db.get(sql, params, (err, row) => (err ? reject(err) : resolve(row as T | undefined))));
  }

  private rawAll<T>(sql: string, params: SqlValue[]): Promise<T[]> {
    return new Promise((resolve, reject) => this.db.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows as T[]))));
  }
}

/** Statements inside a transaction. */
export interface Tx {
  run(sql: string, params?: SqlValue[]): Promise<number>;
  get<R>(sql: string, params?: SqlValue[]): Promise<R | undefined>;
  all<R>(sql: string, params?: SqlValue[]): Promise<R[]>;
  /** Notes that the transaction changed (or deleted) a file's checkpoint, for the commit hook. */
  touch(topic: string, file: string): void;
}

/** Runs before a transaction that touched files commits, with those files. */
export type CommitHook = (tx: Tx, touched: Array<{ topic: string; file: string }>) => Promise<void>;
