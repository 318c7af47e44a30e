/**
 * The checkpoint's rows against the rules every write keeps (file-checkpoints.ts, batches.ts):
 * a state SQLite's own check cannot see, because each page is fine and only the meaning is not
 * (a hand edit, a restore of mismatched files, a bug). Run on open, after `quick_check` and before
 * any write; read-only, a few scans of the two tables by their primary keys.
 *
 * Only the columns below are checked; later migrations may add others. `pending_end_position`
 * is free: NULL between batches, past `records_processed` while one is written. The check runs
 * before migrations, so columns a migration added are checked only in files that have them.
 */
import { SqliteDb } from './sqlite-db';

/** One impossible thing, naming where it is. */
export interface RowProblem {
  topic: string;
  file: string;
  problem: string;
}

/** At most this many problems are listed per kind; the first one is what the operator reads. */
const LIMIT = 5;

/** A files row's impossible state, in the order a reader is told (first match wins). */
const FILE_PROBLEMS = `
  SELECT kafka_topic AS topic, file_name AS file, problem FROM (
    SELECT kafka_topic, file_name, CASE
      WHEN typeof(records_processed) <> 'integer' OR records_processed < 0
        THEN 'records_processed is ' || quote(records_processed)
      WHEN total_records IS NOT NULL AND records_processed > total_records
        THEN records_processed || ' records processed of ' || total_records
      WHEN status = 'COMPLETED' AND total_records IS NOT NULL AND records_processed <> total_records
        THEN 'COMPLETED with ' || records_processed || ' of ' || total_records || ' records processed'
      WHEN status <> 'NOT_STARTED' AND (typeof(partition_count) <> 'integer' OR partition_count < 1)
        THEN status || ' with partition_count ' || quote(partition_count)
      WHEN status <> 'NOT_STARTED' AND partition_offsets IS NULL
        THEN status || ' with no partition_offsets'
      WHEN partition_offsets IS NOT NULL AND NOT (json_valid(partition_offsets) AND json_type(partition_offsets) = 'array')
        THEN 'partition_offsets is not a JSON array: ' || quote(substr(partition_offsets, 1, 40))
      WHEN partition_offsets IS NOT NULL AND json_array_length(partition_offsets) <> partition_count
        THEN 'partition_offsets holds ' || json_array_length(partition_offsets) || ' offsets for ' || partition_count || ' partitions'
      WHEN start_offsets IS NOT NULL AND NOT (json_valid(start_offsets) AND json_type(start_offsets) = 'array')
        THEN 'start_offsets is not a JSON array: ' || quote(substr(start_offsets, 1, 40))
      WHEN start_offsets IS NOT NULL AND json_array_length(start_offsets) <> partition_count
        THEN 'start_offsets holds ' || json_array_length(start_offsets) || ' offsets for ' || partition_count || ' partitions'
      WHEN key_fields IS NOT NULL AND NOT (json_valid(key_fields) AND json_type(key_fields) = 'array')
        THEN 'key_fields is not a JSON array: ' || quote(substr(key_fields, 1, 40))
    END AS problem
    FROM files
  ) WHERE problem IS NOT NULL ORDER BY topic, file LIMIT ${LIMIT}`;

/** The business-key columns of a files row (schema 4 on: `--message-key`, natural-key counts). */
const KEY_MODE_SCHEMA = 4;
const KEY_MODE_PROBLEMS = `
  SELECT kafka_topic AS topic, file_name AS file, problem FROM (
    SELECT kafka_topic, file_name, CASE
      WHEN message_key IS NOT NULL AND NOT (json_valid(message_key) AND json_type(message_key) = 'array')
        THEN 'message_key is not a JSON array: ' || quote(substr(message_key, 1, 40))
      WHEN typeof(duplicate_records) <> 'integer' OR duplicate_records < 0
        THEN 'duplicate_records is ' || quote(duplicate_records)
      WHEN typeof(replayed_records) <> 'integer' OR replayed_records < 0
        THEN 'replayed_records is ' || quote(replayed_records)
    END AS problem
    FROM files
  ) WHERE problem IS NOT NULL ORDER BY topic, file LIMIT ${LIMIT}`;

/**
 * A batch's impossible state: empty or backwards, not starting where the one before it ended (the
 * first at 0), an index out of sequence, JSON that is not JSON, or no file row to belong to.
 */
const BATCH_PROBLEMS = `
  SELECT kafka_topic AS topic, file_name AS file, problem FROM (
    SELECT kafka_topic, file_name, CASE
      WHEN NOT EXISTS (SELECT 1 FROM files f WHERE f.kafka_topic = b.kafka_topic AND f.file_name = b.file_name)
        THEN 'batch ' || batch_index || ' has no file row'
      WHEN end_position <= first_position
        THEN 'batch ' || batch_index || ' covers [' || first_position || ', ' || end_position || '), which is empty or backwards'
      WHEN prev_end IS NULL AND first_position <> 0
        THEN 'its first batch (' || batch_index || ') starts at position ' || first_position || ', not 0'
      WHEN prev_end IS NOT NULL AND first_position <> prev_end
        THEN 'batches are not contiguous: batch ' || batch_index || ' starts at position ' || first_position || ' but the batch before it ends at ' || prev_end
      WHEN batch_index <> seq AND prev_index IS NULL
        THEN 'its first batch has index ' || batch_index || ', not 0'
      WHEN batch_index <> seq
        THEN 'batch indexes skip: batch ' || batch_index || ' follows batch ' || prev_index
      WHEN NOT (json_valid(partition_counts) AND json_valid(end_offsets))
        THEN 'batch ' || batch_index || '''s partition_counts or end_offsets is not JSON'
    END AS problem
    FROM (
      SELECT *, lag(end_position) OVER w AS prev_end, lag(batch_index) OVER w AS prev_index, row_number() OVER w - 1 AS seq
      FROM batches
      WINDOW w AS (PARTITION BY kafka_topic, file_name ORDER BY batch_index)
    ) AS b
  ) WHERE problem IS NOT NULL ORDER BY topic, file LIMIT ${LIMIT}`;

/** records_processed must be where the last committed batch ends (0 before the first). */
const PROGRESS_PROBLEMS = `
  SELECT kafka_topic AS topic, file_name AS file,
    'records_processed is ' || records_processed || ' but its last batch ends at ' || last_end AS problem
  FROM (
    SELECT kafka_topic, file_name, records_processed,
      coalesce((SELECT end_position FROM batches b WHERE b.kafka_topic = f.kafka_topic AND b.file_name = f.file_name
                ORDER BY batch_index DESC LIMIT 1), 0) AS last_end
    FROM files f
  ) WHERE records_processed <> last_end ORDER BY topic, file LIMIT ${LIMIT}`;

/**
 * What is impossible in the checkpoint's rows, in one line for an operator (the first problem,
 * and how many more), or undefined when they are consistent.
 */
export async function checkRows(db: SqliteDb): Promise<string | undefined> {
  const problems: RowProblem[] = [];
  let capped = false;
  const version = (await db.get<{ user_version: number }>('PRAGMA user_version'))?.user_version ?? 0;
  const keyMode = version >= KEY_MODE_SCHEMA ? [KEY_MODE_PROBLEMS] : [];
  for (const sql of [FILE_PROBLEMS, ...keyMode, BATCH_PROBLEMS, PROGRESS_PROBLEMS]) {
    const found = await db.all<RowProblem>(sql);
    capped ||= found.length === LIMIT;
    problems.push(...found);
  }
  if (problems.length === 0) return undefined;
  const [first] = problems;
  const more = problems.length > 1 ? ` (and ${capped ? 'at least ' : ''}${problems.length - 1} more)` : '';
  return `it holds an impossible state for topic ${first.topic}, file ${first.file}: ${first.problem}${more}`;
}
