import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FORMATS, SourceFormat } from '../config/submit-config';
import { SparkSyncError } from '../errors/spark-sync-error';

/** One unit of work: a source file, its identity in the checkpoint and hash keys, and its format. */
export interface SourceFile {
  /** Path relative to the source root; a single-file source uses its base name. */
  identity: string;
  /** Where Spark reads it (a URI). */
  uri: string;
  format: SourceFormat;
}

/**
 * Plans a `--source` into its files. This build takes one local file (a path or `file://` URI);
 * directories, HDFS and Hive tables are planned here too once supported.
 */
export function planSource(source: string, format?: SourceFormat): SourceFile[] {
  if (/^[a-z][a-z0-9+.-]*:/i.test(source) && !source.startsWith('file:')) {
    throw new SparkSyncError('USAGE', `--source ${source}: only local files are supported by this build`, {
      hint: 'pass a local path or a file:// URI',
    });
  }
  const local = source.startsWith('file:') ? fileURLToPath(source) : path.resolve(source);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(local);
  } catch {
    throw new SparkSyncError('SOURCE_UNREADABLE', `source ${local} does not exist`, { hint: 'check --source' });
  }
  if (!stat.isFile()) {
    throw new SparkSyncError('SOURCE_UNREADABLE', `source ${local} is not a regular file`, {
      hint: 'this build syncs one file per --source',
    });
  }
  return [{ identity: path.basename(local), uri: pathToFileURL(local).href, format: format ?? formatOf(local) }];
}

function formatOf(file: string): SourceFormat {
  const ext = path.extname(file).slice(1).toLowerCase();
  const known = (FORMATS as readonly string[]).includes(ext) ? (ext as SourceFormat) : ext === 'parq' ? 'parquet' : undefined;
  if (!known) {
    throw new SparkSyncError('UNSUPPORTED_FORMAT', `cannot tell the format of ${file} from its extension '.${ext}'`, {
      hint: `pass --format (${FORMATS.join(', ')})`,
    });
  }
  return known;
}
