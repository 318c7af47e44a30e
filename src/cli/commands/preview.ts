import { Command, Option } from 'commander';
import type { Table } from 'apache-arrow';
import { optionsSchema, parseOrThrow } from '../../config/options-schema';
import { SourceFormat } from '../../config/source-format';
import { SparkSyncError } from '../../errors/spark-sync-error';
import { SparkFlags, openSparkSync } from '../global-options';
import { exitCodesHelp, printSummary } from '../output';
import { addSparkOptions } from '../shared-options';

interface PreviewOptions extends SparkFlags {
  source: string;
  rows?: string;
  file?: string;
  format?: SourceFormat;
  csvHeader?: boolean;
  csvDelimiter?: string;
  where?: string;
  topicPartitions?: string;
  keyFields?: string;
  messageKey?: string;
  json?: boolean;
}

/** One previewed record: what a submit would send. */
interface PreviewRecord {
  position: number;
  key: string;
  /** With --message-key: the Kafka key; `key` is then the identity in the header spark-sync.id. */
  messageKey?: string;
  partition?: number;
  fields: Record<string, string | null>;
}

export function previewCommand(): Command {
  const cmd = new Command('preview')
    .description('show the first records of a source as submit would send them: position, Kafka key, partition and fields (read by Spark; writes nothing, contacts no Kafka)')
    .option('--source <path>', 'as submit\'s: a data file, a directory, an hdfs:// URI or hive:db.table (required)')
    .option('--rows <n>', 'how many records', '10')
    .option('--file <identity>', 'with a directory or table: the file to show, by its identity (default: the first)')
    // Not --partitions: that is submit's "create the topic with N partitions"; this one only simulates.
    .option('--topic-partitions <n>', 'also show each record\'s Kafka partition in a topic of this many partitions')
    .addOption(new Option('--partitions <n>').hideHelp().argParser(() => {
      throw new SparkSyncError('USAGE', "preview's --partitions is now --topic-partitions", { hint: 'pass --topic-partitions <n>; --partitions is submit\'s, the partitions of a topic it creates' });
    }))
    .option('--format <format>', 'parquet, orc, csv or json (default: from the file\'s extension)')
    .option('--csv-header', 'CSV files start with a header line naming the columns')
    .option('--csv-delimiter <char>', 'CSV field delimiter, one character (\\t for a tab)', ',')
    .option('--where <predicate>', 'with hive:db.table: the partitions to read')
    .option('--key-fields <columns>', 'as submit\'s: KEY is the natural-key identity of these columns')
    .option('--message-key <columns>', 'as submit\'s: shows the MESSAGE KEY, and PARTITION is Kafka\'s default partitioner\'s');
  addSparkOptions(cmd);
  return cmd
    .option('--json', 'print one JSON document (default: a table at a terminal, JSON lines otherwise)')
    .addHelpText('after', `
Example:
  spark-sync preview --source /data/txn.parquet --rows 5 --topic-partitions 6
  spark-sync preview --source /data/events --file dt=2024-01-15/part-0.csv --csv-header --json
${exitCodesHelp([0, 1, 2, 3])}`)
    .action(async (opts: PreviewOptions, cmd: Command) => {
      const { topicPartitions } = parseOrThrow(optionsSchema.pick({ topicPartitions: true }), { topicPartitions: opts.topicPartitions }, 'preview');
      const { sync } = await openSparkSync(opts, cmd);
      const table = await sync.preview({
        source: opts.source, rows: opts.rows === undefined ? undefined : Number(opts.rows), file: opts.file, format: opts.format,
        csv: { header: opts.csvHeader, delimiter: opts.csvDelimiter }, where: opts.where,
        topicPartitions,
        keyFields: opts.keyFields, messageKey: opts.messageKey,
      });
      const records = toRecords(table);
      if (opts.json) printSummary({ command: 'preview', source: opts.source, topicPartitions: topicPartitions ?? null, records });
      else if (process.stdout.isTTY) process.stdout.write(recordTable(records));
      else for (const r of records) process.stdout.write(`${JSON.stringify(r)}\n`);
    });
}

function toRecords(table: Table): PreviewRecord[] {
  const names = table.schema.fields.map((f) => f.name);
  return table.toArray().map((row) => {
    const r = row.toJSON() as Record<string, unknown>;
    const fields: Record<string, string | null> = {};
    for (const name of names) if (!['position', 'key', 'messageKey', 'partition'].includes(name)) fields[name] = (r[name] ?? null) as string | null;
    return {
      position: Number(r.position), key: String(r.key), ...(r.messageKey === undefined ? {} : { messageKey: r.messageKey === null ? 'NULL' : String(r.messageKey) }),
      ...(r.partition === undefined ? {} : { partition: Number(r.partition) }), fields,
    };
  });
}

/** An aligned text table; long values are cut to 40 characters with an ellipsis. */
function recordTable(records: PreviewRecord[]): string {
  if (records.length === 0) return 'the file holds no records\n';
  const fieldNames = Object.keys(records[0].fields);
  const keyed = records[0].messageKey !== undefined;
  const header = ['POSITION', 'KEY', ...(keyed ? ['MESSAGE KEY'] : []), ...(records[0].partition === undefined ? [] : ['PARTITION']), ...fieldNames];
  const cut = (v: string) => (v.length > 40 ? `${v.slice(0, 39)}…` : v);
  const rows = records.map((r) => [String(r.position), r.key, ...(keyed ? [cut(r.messageKey!)] : []), ...(r.partition === undefined ? [] : [String(r.partition)]), ...fieldNames.map((f) => cut(r.fields[f] ?? 'NULL'))]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}
