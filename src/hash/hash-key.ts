import { createHash } from 'node:crypto';
import { Partitioners } from 'kafkajs';

/** How SQL NULL renders in the canonical text. */
export const NULL_TEXT = '\\N';
/** The checkpoint's `hash_algorithm`. */
export const HASH_ALGORITHM = 'SHA-256';

/** Escapes one field text: `\` becomes `\\` and `|` becomes `\|`; null renders as `\N`. */
export function escapeField(text: string | null): string {
  if (text === null) return NULL_TEXT;
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|');
}

/**
 * The canonical text of a row (DESIGN.md §3): escaped field texts, the escaped file identity and
 * the row's 0-based position, joined by `|`. Field texts are what Spark's `CAST(col AS STRING)`
 * gives in UTC.
 */
export function canonicalText(fields: ReadonlyArray<string | null>, file: string, position: number | bigint): string {
  return [...fields.map(escapeField), escapeField(file), String(position)].join('|');
}

/** The message key of a row: lower-case hex SHA-256 of its canonical text. Same as the Spark job's. */
export function hashKey(fields: ReadonlyArray<string | null>, file: string, position: number | bigint): string {
  return createHash('sha256').update(canonicalText(fields, file, position), 'utf8').digest('hex');
}

/**
 * The canonical text of a natural-key identity (`--key-fields`, DESIGN.md §3): the escaped key
 * field texts alone, joined by `|`. No file and no position, so the same business key has the
 * same identity in every file and every run.
 */
export function naturalCanonicalText(keyFields: ReadonlyArray<string | null>): string {
  return keyFields.map(escapeField).join('|');
}

/** A natural-key identity: lower-case hex SHA-256 of its canonical text. Same as the Spark job's. */
export function naturalKey(keyFields: ReadonlyArray<string | null>): string {
  return createHash('sha256').update(naturalCanonicalText(keyFields), 'utf8').digest('hex');
}

/** The Kafka partition of a key: the digest as an unsigned big-endian integer, modulo `partitions`. */
export function partitionOfKey(hexKey: string, partitions: number): number {
  return Number(BigInt(`0x${hexKey}`) % BigInt(partitions));
}

const defaultPartitioner = Partitioners.DefaultPartitioner();

/**
 * The partition of a business message key (`--message-key`): Kafka's default partitioner for a
 * non-null key, murmur2 of its UTF-8 bytes made positive, mod `partitions`, as the Java producer
 * and the Spark job compute it (kafkajs's DefaultPartitioner is the Java-compatible one).
 */
export function partitionOfMessageKey(key: string, partitions: number): number {
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));
  return defaultPartitioner({ topic: '', partitionMetadata, message: { key: Buffer.from(key, 'utf8'), value: null } });
}
