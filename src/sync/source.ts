import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CsvOptions, SourceFormat, formatOf, formatSpec } from '../config/source-format';
import { SparkSyncError } from '../errors/spark-sync-error';
import { SparkJobs } from '../spark/spark-jobs';

/** One unit of work: a source file, its identity in the checkpoint and hash keys, and its format. */
export interface SourceFile {
  /** Path relative to the source root, `/`-separated; a single-file source uses its base name. */
  identity: string;
  /** Where Spark reads it (a URI). */
  uri: string;
  /**
   * The format and the reader options that decide its rows (`csv?header=true&delimiter=%2C`).
   * The checkpoint keeps it, so a file is never resumed under options that read other rows.
   */
  format: string;
}

const SCHEMES = ['file', 'hdfs'];

/** A `--source` checked before any JVM starts. */
export interface SourceRoot {
  /** A URI Hadoop's file systems understand, or `hive:db.table`. */
  uri: string;
  /** With a Hive source: `db.table` (checked as identifiers by the config). */
  table?: string;
}

/**
 * Checks a `--source` as far as can be done without Spark: the scheme is one spark-sync reads,
 * and a local path exists. A local path becomes a `file://` URI.
 */
export function checkSource(source: string): SourceRoot {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(source)?.[1]?.toLowerCase();
  if (scheme === 'hive') return { uri: source, table: source.slice('hive:'.length) };
  if (scheme && scheme !== 'file') {
    if (!SCHEMES.includes(scheme)) {
      throw new SparkSyncError('USAGE', `--source ${source}: '${scheme}://' sources are not supported`, {
        hint: 'pass a local path, a file:// or hdfs:// URI, or hive:db.table',
      });
    }
    return { uri: source };
  }
  const local = scheme === 'file' ? fileURLToPath(source) : path.resolve(source);
  if (!fs.existsSync(local)) {
    throw new SparkSyncError('SOURCE_UNREADABLE', `source ${local} does not exist`, { hint: 'check --source' });
  }
  return { uri: pathToFileURL(local).href };
}

/**
 * Plans a source into its data files, in path order (SourceFiles on the Java side lists them
 * and skips hidden files, `_SUCCESS` and `.crc`). Each file's format is `--format`, or else its
 * extension; a file of unknown extension stops the plan before anything is written. A Hive
 * table's files are those of its partitions (`where` selects them), in the table's format.
 */
export async function planFiles(jobs: SparkJobs, root: SourceRoot, format: SourceFormat | undefined, csv: CsvOptions, where?: string): Promise<SourceFile[]> {
  if (root.table !== undefined) {
    const files = await jobs.listTable(root.table, where);
    return files.map((f) => ({ identity: f.relativePath, uri: f.uri, format: formatSpec(f.format as SourceFormat, csv) }));
  }
  const listed = await jobs.listFiles(root.uri);
  return listed.map((f) => ({ identity: f.relativePath, uri: f.uri, format: formatSpec(format ?? formatOf(f.relativePath), csv) }));
}

