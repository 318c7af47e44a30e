/**
 * The checkpoint's authoritative copy in Kafka (DESIGN.md §5): a compacted topic, default
 * `spark-sync-checkpoints`, holding per target topic its lease, a marker that its state lives
 * here, and each file's checkpoint (the file row with its batches) under one key, so a reset is
 * one tombstone. Any machine reads a topic's state from it; the local SQLite file is the fast
 * path, reconciled with it when a run takes the lease (checkpoint-store.ts).
 *
 * Records move through Kafka's Java client in the driver's JVM (io.sparksync.jobs.CheckpointLog):
 * reads are read_committed, writes transactional with a `transactional.id` per target topic, so
 * taking the topic over fences every earlier writer on any machine.
 */
import { SparkSyncError } from '../errors/spark-sync-error';
import { fromJavaError } from '../errors/java-errors';
import type { KafkaAdmin } from '../kafka/kafka-admin';
import type { BatchCheckpoint, FileCheckpoint } from './rows';

/** The default `--checkpoint-topic`. */
export const DEFAULT_CHECKPOINT_TOPIC = 'spark-sync-checkpoints';

/** Which change of a topic's state is newer: the lease epoch it was written under, then its order in that epoch. */
export interface StateVersion {
  epoch: number;
  seq: number;
}

export function newerThan(a: StateVersion, b: StateVersion | null): boolean {
  return b === null || a.epoch > b.epoch || (a.epoch === b.epoch && a.seq > b.seq);
}

/** A file's checkpoint as the checkpoint topic holds it. */
export interface FileRecord {
  version: StateVersion;
  file: FileCheckpoint;
  batches: BatchCheckpoint[];
}

/** A topic's writer lease as the checkpoint topic holds it. */
export interface LeaseRecord {
  owner: string;
  host: string;
  pid: number;
  epoch: number;
  acquiredAt: string;
  heartbeatAt: string;
  releasedAt: string | null;
}

/** Everything the checkpoint topic holds for one target topic. */
export interface TopicState {
  lease: LeaseRecord | null;
  /** Set once the topic's state lives here (its first run under this version published it). */
  published: boolean;
  /** Each file's latest record; null: a tombstone (the file was reset). */
  files: Map<string, FileRecord | null>;
}

const leaseKey = (topic: string) => `lease/${topic}`;
const markerKey = (topic: string) => `topic/${topic}`;
const filePrefix = (topic: string) => `file/${topic}/`;
export const fileKey = (topic: string, file: string) => `${filePrefix(topic)}${file}`;

/** A record to write: a key and its JSON value, or null to delete it. */
export interface TopicRecord {
  key: string;
  value: string | null;
}

export function fileRecord(topic: string, record: FileRecord | null, fileName: string): TopicRecord {
  return { key: fileKey(topic, fileName), value: record && JSON.stringify(record) };
}

export function leaseRecord(topic: string, lease: LeaseRecord): TopicRecord {
  return { key: leaseKey(topic), value: JSON.stringify(lease) };
}

export function publishedMarker(topic: string): TopicRecord {
  return { key: markerKey(topic), value: JSON.stringify({ publishedAt: new Date().toISOString(), schema: 1 }) };
}

/** `io.sparksync.jobs.CheckpointLog` as the bridge gives it. */
interface JavaCheckpointLog {
  read(target: string, prefixes: string[], timeoutMs: number): Promise<string>;
  takeOver(target: string, timeoutMs: number): Promise<void>;
  write(target: string, keys: string[], values: Array<string | null>): Promise<void>;
  close(): Promise<void>;
}

interface JavaCheckpointLogClass {
  open(topic: string, kafkaConf: string[]): Promise<JavaCheckpointLog>;
}

/** How long a read or write of the checkpoint topic may take before Kafka counts as unreachable (exit 3). */
const TIMEOUT_MS = 30_000;

/**
 * One run's handle on the checkpoint topic for one target topic: read its state, take it over
 * (fencing earlier writers), write changes in transactions. The JVM must be running
 * (spark/jvm.ts); Spark need not be.
 */
export class CheckpointTopic {
  private constructor(
    readonly name: string,
    readonly target: string,
    private readonly log: JavaCheckpointLog,
  ) {}

  /**
   * Opens the checkpoint topic `name` for `target`, creating it (compacted) on first use when
   * `create` is set; `replicationFactor` undefined: the cluster's default.
   */
  static async open(options: { name: string; target: string; kafkaConf: string[]; admin: KafkaAdmin; create: boolean; replicationFactor?: number }): Promise<CheckpointTopic> {
    const { name, admin } = options;
    if ((await admin.partitionCount(name)) === undefined) {
      if (!options.create) {
        throw new SparkSyncError('CHECKPOINT_INVALID', `the checkpoint topic ${name} does not exist, so no run has synced topic ${options.target} with a checkpoint in Kafka`, {
          hint: 'check --checkpoint-topic and --bootstrap-server, or pass --checkpoint for a local checkpoint file',
        });
      }
      await admin.createCheckpointTopic(name, options.replicationFactor);
    }
    const { importClassAsync } = await import('java-bridge');
    try {
      const cls = (await importClassAsync('io.sparksync.jobs.CheckpointLog')) as unknown as JavaCheckpointLogClass;
      return new CheckpointTopic(name, options.target, await cls.open(name, options.kafkaConf));
    } catch (err) {
      throw fromJavaError(err, `opening the checkpoint topic ${name}`);
    }
  }

  /** The target topic's lease, marker and files, as committed (read_committed) up to now. */
  async read(): Promise<TopicState> {
    const { target } = this;
    const raw = await this.call(() => this.log.read(target, [leaseKey(target), markerKey(target), filePrefix(target)], TIMEOUT_MS), `reading the checkpoint of ${target} from ${this.name}`);
    const state: TopicState = { lease: null, published: false, files: new Map() };
    for (const [key, value] of JSON.parse(raw) as Array<[string, string | null]>) {
      if (key === leaseKey(target)) state.lease = value === null ? null : (JSON.parse(value) as LeaseRecord);
      else if (key === markerKey(target)) state.published = value !== null;
      else if (key.startsWith(filePrefix(target))) state.files.set(key.slice(filePrefix(target).length), value === null ? null : (JSON.parse(value) as FileRecord));
    }
    return state;
  }

  /** Becomes the target topic's one checkpoint writer, fencing every earlier one on any machine. */
  async takeOver(): Promise<void> {
    await this.call(() => this.log.takeOver(this.target, TIMEOUT_MS), `taking over the checkpoint of ${this.target} in ${this.name}`);
  }

  /** Writes the records in one transaction, resolved once Kafka committed it. */
  async write(records: TopicRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.call(() => this.log.write(this.target, records.map((r) => r.key), records.map((r) => r.value)), `writing the checkpoint of ${this.target} to ${this.name}`);
  }

  async close(): Promise<void> {
    await this.log.close().catch(() => undefined);
  }

  private async call<T>(op: () => Promise<T>, what: string): Promise<T> {
    try {
      return await op();
    } catch (err) {
      const e = fromJavaError(err, what);
      if (e.code === 'LEASE_LOST') {
        throw new SparkSyncError('LEASE_LOST', `this spark-sync lost its lease on topic ${this.target}: another run took the topic over and fenced this one's checkpoint writes (in ${this.name}), so it stopped writing: it was paused or cut off longer than the lease timeout`, {
          cause: err,
          hint: 'the other run owns the topic now; this one changed nothing since; check `spark-sync status` and `spark-sync verify` after the other run',
        });
      }
      if (e.code === 'KAFKA_NOT_AUTHORIZED') {
        throw new SparkSyncError('KAFKA_NOT_AUTHORIZED', `${e.message}; spark-sync keeps the checkpoint of ${this.target} there`, {
          cause: err,
          hint: `grant the principal Read, Write and Describe on topic ${this.name} and Write and Describe on transactional id spark-sync-${this.target} (or pass --checkpoint-topic with a topic it may use, or none to keep the checkpoint local); nothing was written`,
        });
      }
      throw e;
    }
  }
}
