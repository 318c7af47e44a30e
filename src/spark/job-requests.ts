/**
 * The requests the driver sends the Spark job (io.sparksync.jobs.JobRequest), built here and
 * nowhere else: one JSON object per operation, naming the file, its key mode, the topic, the
 * Kafka settings, the rows and the offsets. A new option is a field here and there, not a new
 * positional argument on both sides of the bridge.
 */
import type { OffsetRange } from '../kafka/offset-range';

/** How records are keyed, as the job takes it: empty arrays and an empty index are the defaults. */
export interface RequestKeys {
  keyFields: string[];
  messageKey: string[];
  identityIndex: string;
}

/** io.sparksync.jobs.JobRequest; every field optional but what an operation reads. */
export interface JobRequest {
  source?: { path: string; format: string; identity: string; rows: number };
  keys?: RequestKeys;
  topic?: string;
  kafkaConf?: string[];
  from?: number;
  to?: number;
  batchSize?: number;
  startOffsets?: number[];
  ranges?: OffsetRange[];
  writeFrom?: number[];
  deadLetters?: string;
  topicFrom?: number[] | null;
  topicTo?: number[];
  files?: JobRequest[];
  segment?: string;
  identities?: number;
  limit?: number;
}

/** A key mode (keyFields, messageKey: null for the default; identityIndex in natural-key mode). */
export function requestKeys(keys: { keyFields: string[] | null; messageKey: string[] | null; identityIndex?: string | null }): RequestKeys {
  return { keyFields: keys.keyFields ?? [], messageKey: keys.messageKey ?? [], identityIndex: keys.identityIndex ?? '' };
}

/** A source file as the job takes it. */
export function requestSource(path: string, format: string, identity: string, rows = 0): NonNullable<JobRequest['source']> {
  return { path, format, identity, rows };
}

/** A request as the JSON text the bridge carries. */
export function encode(request: JobRequest): string {
  return JSON.stringify(request);
}
