import { SparkSyncError } from '../errors/spark-sync-error';
import { optionsSchema, parseOrThrow } from './options-schema';

/** How Spark runs, as spark-submit takes it: the CLI's Spark flags and a library's `SparkSync.open` options. */
export interface SparkOptionsInput {
  /** `local[*]` (default), `local[N]`, `spark://host:7077`, `yarn`, `k8s://…`; else `spark.master` of `conf` or `propertiesFile`. */
  master?: string;
  /** `key=value` Spark settings, as spark-submit's `--conf`; they beat `propertiesFile`'s. */
  conf?: string[];
  /** Driver JVM heap, e.g. `2g`; else `spark.driver.memory` of `conf` or `propertiesFile`, else 1g. */
  driverMemory?: string;
  /** Extra jars for the driver's classpath and Spark's executors (a list, or comma-separated). */
  jars?: string | string[];
  /** `--executor-memory`: `spark.executor.memory`, e.g. `4g`. */
  executorMemory?: string;
  /** `--executor-cores`: `spark.executor.cores`. */
  executorCores?: number | string;
  /** `--num-executors`: `spark.executor.instances`. */
  numExecutors?: number | string;
  /** `--queue`: `spark.yarn.queue`. */
  queue?: string;
  /** `--name`: `spark.app.name` (default `spark-sync`). */
  name?: string;
  /**
   * `--properties-file`: a spark-defaults.conf (`key value` or `key=value` lines, `#` comments)
   * whose `spark.*` settings have the lowest precedence: `conf` and the fields above beat them.
   */
  propertiesFile?: string;
}

/** Validated Spark settings: the master, every setting as one `key=value` list, the driver's heap and `--jars` (resolved paths). */
export interface SparkOptions {
  master: string;
  /** Each key once, with the value that won (see {@link parseSparkOptions}). */
  conf: string[];
  driverMemory?: string;
  jars: string[];
}

/** spark-submit's dedicated flags and the Spark setting each one sets. */
const FLAG_SETTINGS = [
  ['executorMemory', 'spark.executor.memory'],
  ['executorCores', 'spark.executor.cores'],
  ['numExecutors', 'spark.executor.instances'],
  ['queue', 'spark.yarn.queue'],
  ['name', 'spark.app.name'],
] as const;

const sparkSchema = optionsSchema.pick({
  master: true, conf: true, driverMemory: true, jars: true,
  executorMemory: true, executorCores: true, numExecutors: true, queue: true, name: true, propertiesFile: true,
});

/**
 * The Spark flags, checked by the same schema as every flag, resolved as spark-submit resolves
 * them: the properties file's settings, then `--conf` (a later one wins), then the dedicated flags
 * (`--executor-memory` and the like). The master and the driver's heap are this process's own
 * (Spark runs in its JVM), so `spark.master` and `spark.driver.memory` are taken out of the
 * settings and stand in only for a missing `--master` or `--driver-memory`.
 */
export function parseSparkOptions(input: SparkOptionsInput, command = 'submit'): SparkOptions {
  const o = parseOrThrow(sparkSchema, input, command);
  const settings = new Map<string, string>();
  for (const kv of [...(o.propertiesFile ?? []), ...o.conf]) settings.set(kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1));
  for (const [field, key] of FLAG_SETTINGS) if (o[field] !== undefined) settings.set(key, String(o[field]));
  const master = input.master !== undefined ? o.master : fromSettings(settings, 'spark.master', '--master', command) ?? o.master;
  const driverMemory = input.driverMemory !== undefined ? o.driverMemory : fromSettings(settings, 'spark.driver.memory', '--driver-memory', command);
  settings.delete('spark.master');
  settings.delete('spark.driver.memory');
  return { master, conf: [...settings].map(([k, v]) => `${k}=${v}`), driverMemory, jars: o.jars };
}

/** A setting that stands in for a flag, checked as the flag is; the error names both. */
function fromSettings(settings: Map<string, string>, key: 'spark.master' | 'spark.driver.memory', flag: string, command: string): string | undefined {
  const value = settings.get(key);
  if (value === undefined) return undefined;
  const parsed = key === 'spark.master' ? optionsSchema.shape.master.safeParse(value) : optionsSchema.shape.driverMemory.safeParse(value);
  if (!parsed.success) {
    throw new SparkSyncError('USAGE', `${key} (from --conf or --properties-file, standing in for ${flag}): ${parsed.error.issues[0].message}`, { hint: `see \`spark-sync ${command} --help\`` });
  }
  return parsed.data;
}
