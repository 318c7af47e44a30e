import { SqliteDb } from './sqlite-db';

/** `PRAGMA application_id` of a spark-sync checkpoint ("SSYC"), to tell it from a foreign SQLite file. */
export const APPLICATION_ID = 0x53535943;

/**
 * Schema migrations; entry i takes `user_version` i to i + 1. Append, never edit: a checkpoint
 * written by an older spark-sync is migrated forward on open.
 */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE files (
    kafka_topic          TEXT    NOT NULL,
    file_name            TEXT    NOT NULL,  -- identity: path relative to the source root
    source_path          TEXT    NOT NULL,
    source_format        TEXT    NOT NULL,
    status               TEXT    NOT NULL CHECK (status IN ('NOT_STARTED', 'IN_PROGRESS', 'COMPLETED')),
    start_timestamp      TEXT,
    completion_timestamp TEXT,
    partition_count      INTEGER,
    batch_size           INTEGER NOT NULL,
    start_offsets        TEXT,              -- JSON array: each partition's end offset when the file started
    partition_offsets    TEXT,              -- JSON array: each partition's end offset after the last committed batch
    records_processed    INTEGER NOT NULL DEFAULT 0,
    total_records        INTEGER,
    hash_algorithm       TEXT    NOT NULL,
    key_fields           TEXT,              -- JSON array in natural-key mode, else NULL
    source_size          INTEGER,
    source_mtime_ms      INTEGER,
    updated_at           TEXT    NOT NULL,
    PRIMARY KEY (kafka_topic, file_name)
  );
  CREATE TABLE batches (
    kafka_topic      TEXT    NOT NULL,
    file_name        TEXT    NOT NULL,
    batch_index      INTEGER NOT NULL,
    first_position   INTEGER NOT NULL,
    end_position     INTEGER NOT NULL,      -- exclusive
    partition_counts TEXT    NOT NULL,      -- JSON array: records of this batch per partition
    end_offsets      TEXT    NOT NULL,      -- JSON array: end offsets after this batch
    committed_at     TEXT    NOT NULL,
    PRIMARY KEY (kafka_topic, file_name, batch_index),
    FOREIGN KEY (kafka_topic, file_name) REFERENCES files (kafka_topic, file_name) ON DELETE CASCADE
  );
  CREATE TABLE leases (
    kafka_topic  TEXT PRIMARY KEY,
    owner        TEXT    NOT NULL,
    host         TEXT    NOT NULL,
    pid          INTEGER NOT NULL,
    acquired_at  TEXT    NOT NULL,
    heartbeat_at TEXT    NOT NULL
  );
  `,
  // The batch being written, so recovery after a crash knows which rows may be in Kafka past the
  // checkpoint even if --batch-size changed between runs. NULL between batches.
  `ALTER TABLE files ADD COLUMN pending_end_position INTEGER`,
  // Fencing: every acquisition of a topic's lease gets the next epoch, and a released lease keeps
  // its row (released_at set), so epochs only grow. Every checkpoint write checks owner and epoch
  // in its own transaction. Anomalies: records found in a file's offset range that are not its
  // own rows (duplicates, foreign writes), kept per batch and per file, as JSON details on the
  // file, until an operator acknowledges them (reset --acknowledge). Dead-lettered: rows Kafka refuses as too large, sent to the dead-letter topic instead.
  `
  ALTER TABLE leases ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE leases ADD COLUMN released_at TEXT;
  ALTER TABLE files ADD COLUMN unexpected_records INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE files ADD COLUMN anomalies TEXT;
  ALTER TABLE files ADD COLUMN unexpected_acknowledged INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE files ADD COLUMN dead_lettered INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE batches ADD COLUMN unexpected_records INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE batches ADD COLUMN dead_lettered INTEGER NOT NULL DEFAULT 0
  `,
  // Business keys (--key-fields, --message-key). message_key: JSON array of the columns that make
  // the Kafka key, NULL when the identity is the key. duplicate_records: rows dropped because an
  // earlier row of the same file had their natural key. replayed_records: rows not sent because
  // the topic already had their identity from an earlier file or run. Both count rows that were
  // never written, so verify and status can account for every row of the file.
  `
  ALTER TABLE files ADD COLUMN message_key TEXT;
  ALTER TABLE files ADD COLUMN duplicate_records INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE files ADD COLUMN replayed_records INTEGER NOT NULL DEFAULT 0
  `,
  // Dead letters written exactly once: the dead-letter topic a file uses and its end offsets when
  // the file first used it (JSON array), so retries, recoveries and verify find the file's dead
  // letters there by their headers instead of trusting a count.
  // Files interleaved in one topic: a batch cut off by a crash may be followed by another file's
  // records before it is recovered. open_from: where the file's uncommitted write began (JSON
  // offsets), NULL when none is open; tail_ranges: the ranges its uncommitted records were sealed
  // into when another run took the topic (JSON [{from, to}]; NULL in rows older than this
  // migration). A batch's ranges: where its records lie (NULL: one range ending at end_offsets).
  // Natural keys: replays are counted per batch as they are written (replay_accounting 'batch');
  // rows of older files keep their count from the file's start ('start').
  // The checkpoint topic (DESIGN.md §5): kafka_version is the version ({epoch, seq}) of the
  // file's record there that this row matches; local_changes marks a row changed since (by a run
  // with --checkpoint-topic none, or written before the topic existed: every older row).
  `
  ALTER TABLE files ADD COLUMN dead_letter_topic TEXT;
  ALTER TABLE files ADD COLUMN dead_letter_offsets TEXT;
  ALTER TABLE files ADD COLUMN open_from TEXT;
  ALTER TABLE files ADD COLUMN tail_ranges TEXT;
  ALTER TABLE files ADD COLUMN replay_accounting TEXT NOT NULL DEFAULT 'start';
  ALTER TABLE batches ADD COLUMN ranges TEXT;
  ALTER TABLE batches ADD COLUMN replayed_records INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE files ADD COLUMN kafka_version TEXT;
  ALTER TABLE files ADD COLUMN local_changes INTEGER NOT NULL DEFAULT 1;
  CREATE TABLE topics (
    kafka_topic       TEXT PRIMARY KEY,
    bootstrap_servers TEXT NOT NULL,      -- how the last submit of the topic reached Kafka, so a reset here reaches its checkpoint topic
    checkpoint_topic  TEXT,               -- NULL: that submit kept the checkpoint local (--checkpoint-topic none)
    kafka_config      TEXT,               -- the path of its --kafka-config, never the file's content
    updated_at        TEXT NOT NULL
  )
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings a fresh or older checkpoint to the current schema, each step in one transaction. */
export async function migrate(db: SqliteDb): Promise<void> {
  const row = await db.get<{ user_version: number }>('PRAGMA user_version');
  const version = row?.user_version ?? 0;
  for (let v = version; v < MIGRATIONS.length; v++) {
    await db.transaction(async (tx) => {
      for (const statement of MIGRATIONS[v].split(';').map((s) => s.trim()).filter(Boolean)) {
        await tx.run(statement);
      }
      await tx.run(`PRAGMA user_version = ${v + 1}`);
      if (v === 0) await tx.run(`PRAGMA application_id = ${APPLICATION_ID}`);
    });
  }
}
