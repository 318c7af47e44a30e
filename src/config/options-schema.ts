import fs from 'node:fs';
import path from 'node:path';
import { parse as parseProperties } from 'dot-properties';
import { z } from 'zod';
import { SparkSyncError } from '../errors/spark-sync-error';
import { FORMATS } from './source-format';
import { DEFAULT_CHECKPOINT_TOPIC } from '../checkpoint/checkpoint-topic';

/** Kafka's rule for topic names. */
export const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

const positiveInt = (option: string, max: number) =>
  z.coerce
    .number({ invalid_type_error: `${option} must be a whole number` })
    .int(`${option} must be a whole number`)
    .min(1, `${option} must be at least 1`)
    .max(max, `${option} must be at most ${max}`);

/** `--jars a.jar,b.jar` (repeatable, as spark-submit's): each must be a readable .jar file. */
export const jarList = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean))
  .superRefine((jars, ctx) => {
    for (const jar of jars) {
      if (!jar.endsWith('.jar')) ctx.addIssue({ code: 'custom', message: `--jars takes .jar files, not ${jar}` });
      else if (!fs.existsSync(jar)) ctx.addIssue({ code: 'custom', message: `--jars ${jar} does not exist` });
    }
  })
  .transform((jars) => jars.map((j) => path.resolve(j)))
  .default([]);

/** `--key-fields a,b` or `--message-key c`: column names, comma-separated (or an array from the library), each once. */
const columnList = (option: string) =>
  z
    .union([z.string(), z.array(z.string())])
    .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()))
    .superRefine((cols, ctx) => {
      if (cols.length === 0 || cols.some((c) => c === '')) ctx.addIssue({ code: 'custom', message: `${option} takes column names separated by commas, none empty` });
      const twice = cols.find((c, i) => cols.indexOf(c) !== i);
      if (twice !== undefined) ctx.addIssue({ code: 'custom', message: `${option} names the column ${twice} twice` });
    })
    .optional();

/** Spark settings that make a read drop rows without failing (corrupt or missing files skipped). */
const ROW_DROPPING_SETTINGS = ['spark.sql.files.ignorecorruptfiles', 'spark.sql.files.ignoremissingfiles', 'spark.files.ignorecorruptfiles', 'spark.files.ignoremissingfiles'];

function dropsRows(kv: string): boolean {
  const eq = kv.indexOf('=');
  return ROW_DROPPING_SETTINGS.includes(kv.slice(0, eq).trim().toLowerCase()) && kv.slice(eq + 1).trim().toLowerCase() === 'true';
}

/** A size as Spark reads one (`spark.executor.memory`): 4g, 512m, or a number of MiB. */
const sparkSize = (option: string) => z.string().regex(/^[1-9]\d*([kmgt]b?)?$/i, `${option} takes a size like 4g or 512m`);

/**
 * spark-submit's `--properties-file`: spark-defaults.conf, read as Spark reads it (Java properties:
 * `key value` or `key=value` lines, `#` comments), into `key=value` entries. Only `spark.*` keys, as
 * Spark takes from it; a key that would make Spark drop rows is refused as with `--conf`. Values
 * are never put into a message: such a file may hold secrets (`spark.hadoop.fs.s3a.secret.key`).
 */
const sparkPropertiesFile = z
  .string()
  .min(1, '--properties-file needs a file')
  .transform((file, ctx) => {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `--properties-file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` });
      return z.NEVER;
    }
    const entries = Object.entries(parseProperties(text) as Record<string, string>).map(([key, value]) => `${key}=${value}`);
    for (const kv of entries) {
      const key = kv.slice(0, kv.indexOf('='));
      if (!key.startsWith('spark.')) ctx.addIssue({ code: 'custom', message: `--properties-file ${file} sets ${key}, which is not a Spark setting (those start with spark.)` });
      else if (dropsRows(kv)) ctx.addIssue({ code: 'custom', message: `--properties-file ${file} sets ${key}=true, which makes Spark skip unreadable or vanished files silently, and their rows would be counted as synced; every row must be read or the run must fail` });
    }
    return entries;
  });

/**
 * Every option of every command, as the CLI's flags and the library's inputs name them (camelCase):
 * one schema, so a flag and a library option are checked alike and fail with the same message.
 * Each command's config picks its options from it.
 */
export const optionsSchema = z.object({
  source: z.string({ required_error: '--source is required' }).min(1, '--source is required'),
  topic: z
    .string({ required_error: '--topic is required' })
    .regex(TOPIC_NAME, '--topic must be 1–249 characters of a-z, A-Z, 0-9, ".", "_" and "-"'),
  bootstrapServer: z.string({ required_error: '--bootstrap-server is required' }),
  format: z.enum(FORMATS, { errorMap: () => ({ message: `--format must be one of: ${FORMATS.join(', ')}` }) }).optional(),
  where: z.string().min(1, '--where needs a predicate').optional(),
  csvHeader: z.boolean().default(false),
  csvDelimiter: z
    .string()
    .transform((d) => (d === '\\t' ? '\t' : d))
    .refine((d) => [...d].length === 1 && d !== '\n' && d !== '\r' && d !== '"', '--csv-delimiter must be one character (\\t for a tab), not a quote or line break')
    .default(','),
  checkpoint: z.string().min(1).optional(),
  /** The compacted topic holding the checkpoint's authoritative copy; `none`: the local file only. */
  checkpointTopic: z
    .string()
    .refine((t) => t === 'none' || TOPIC_NAME.test(t), '--checkpoint-topic must be a topic name (1–249 characters of a-z, A-Z, 0-9, ".", "_" and "-") or none')
    .default(DEFAULT_CHECKPOINT_TOPIC)
    .transform((t) => (t === 'none' ? null : t)),
  batchSize: positiveInt('--batch-size', 1_000_000_000).default(1_000_000),
  createTopic: z.boolean().default(false),
  /** Add the `spark-sync.file` and `spark-sync.position` headers to every record. */
  lineageHeaders: z.boolean().default(false),
  partitions: positiveInt('--partitions', 10_000).optional(),
  /** `preview`: how many records to show. */
  rows: positiveInt('--rows', 1_000_000).default(10),
  /** `preview`: show each record's partition in a topic of this many partitions. */
  topicPartitions: positiveInt('--topic-partitions', 10_000).optional(),
  // Kafka's replication factor is an INT16 on the wire.
  replicationFactor: positiveInt('--replication-factor', 32_767).optional(),
  master: z.string().regex(/^(local(\[(\*|\d+)(,\d+)?\])?|spark:\/\/.+|yarn|k8s:\/\/.+)$/, '--master must be local[*], local[N], spark://…, yarn or k8s://…').default('local[*]'),
  conf: z.array(z.string().regex(/^[^=\s]+=.*$/, '--conf takes key=value').refine((kv) => !dropsRows(kv), (kv) => ({
    message: `--conf ${kv} is refused: it makes Spark skip unreadable or vanished files silently, and their rows would be counted as synced; every row must be read or the run must fail`,
  }))).default([]),
  driverMemory: z.string().regex(/^\d+[kmgt]?$/i, '--driver-memory takes a JVM size like 2g or 512m').optional(),
  jars: jarList,
  /** spark-submit's dedicated flags, each one Spark setting (see `parseSparkOptions`). */
  executorMemory: sparkSize('--executor-memory').optional(),
  executorCores: positiveInt('--executor-cores', 1024).optional(),
  numExecutors: positiveInt('--num-executors', 100_000).optional(),
  queue: z.string().min(1, '--queue needs a YARN queue name').optional(),
  name: z.string().min(1, '--name needs an application name').optional(),
  propertiesFile: sparkPropertiesFile.optional(),
  kafkaConfig: z.string().min(1, '--kafka-config needs a file').optional(),
  kafkaProperties: z.record(z.string(), z.string()).optional(),
  deadLetterTopic: z.string().regex(TOPIC_NAME, '--dead-letter-topic must be 1–249 characters of a-z, A-Z, 0-9, ".", "_" and "-"').optional(),
  keyFields: columnList('--key-fields'),
  /** Where natural-key identity indexes live: a folder URI any executor and later run can read (hdfs://, file://, …). */
  indexLocation: z.string().min(1, '--index-location needs a folder URI').refine((u) => /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(u) || u.startsWith('/'), '--index-location must be a folder URI such as hdfs://namenode:8020/spark-sync/index or file:///shared/index, or an absolute path').optional(),
  messageKey: columnList('--message-key'),
  recovery: z.enum(['window', 'full'], { errorMap: () => ({ message: '--recovery must be window or full' }) }).default('window'),
  /** `verify`: each file's keys against its own offset ranges, or against every record of the topic. */
  scope: z.enum(['range', 'topic'], { errorMap: () => ({ message: '--scope must be range or topic' }) }).default('range'),
});

/** Validates `input` against a part of the schema, naming the offending option in the error. */
export function parseOrThrow<T extends z.ZodTypeAny>(s: T, input: unknown, command: string): z.infer<T> {
  const parsed = s.safeParse(input);
  if (!parsed.success) {
    throw new SparkSyncError('USAGE', parsed.error.issues[0].message, { hint: `see \`spark-sync ${command} --help\`` });
  }
  return parsed.data;
}
