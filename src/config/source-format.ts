import path from 'node:path';
import { SparkSyncError } from '../errors/spark-sync-error';

/**
 * The format of a source file: one concept with one home on this side of the bridge (its
 * counterpart is the Java job's SourceFormat). `--format` names one; otherwise a file's
 * extension decides; the Java reader takes it as a spec with the CSV options.
 */
export const FORMATS = ['parquet', 'orc', 'csv', 'json'] as const;
export type SourceFormat = (typeof FORMATS)[number];

/** How CSV files are read (Spark's `header` and `delimiter` options; Spark's defaults). */
export interface CsvOptions {
  header: boolean;
  delimiter: string;
}

/** The format spec the Java reader takes: the format, plus CSV's reader options. */
export function formatSpec(format: SourceFormat, csv: CsvOptions): string {
  if (format !== 'csv') return format;
  return `csv?header=${csv.header}&delimiter=${encodeURIComponent(csv.delimiter)}`;
}

/** Compression suffixes Hadoop decompresses on read; the format is the extension before them. */
const COMPRESSION = new Set(['gz', 'bz2', 'deflate', 'lz4', 'snappy', 'zst']);
const EXTENSIONS: Record<string, SourceFormat> = { parquet: 'parquet', parq: 'parquet', orc: 'orc', csv: 'csv', json: 'json', jsonl: 'json', ndjson: 'json' };

export function formatOf(file: string): SourceFormat {
  const parts = path.posix.basename(file).toLowerCase().split('.').slice(1);
  if (parts.length > 1 && COMPRESSION.has(parts[parts.length - 1])) parts.pop();
  const ext = parts[parts.length - 1] ?? '';
  const known = EXTENSIONS[ext];
  if (!known) {
    throw new SparkSyncError('UNSUPPORTED_FORMAT', `cannot tell the format of ${file} from its extension${ext ? ` '.${ext}'` : ''}`, {
      hint: `pass --format (${FORMATS.join(', ')}), or keep only data files in the source`,
    });
  }
  return known;
}
