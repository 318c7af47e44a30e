import { Admin, ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { KafkaClientSettings, NO_KAFKA_SETTINGS } from '../config/kafka-client-config';
import { SparkSyncError, firstLine } from '../errors/spark-sync-error';

export interface KafkaAdminOptions {
  bootstrapServers: string[];
  /** How long to try to reach the cluster before giving up with exit code 3. */
  connectTimeoutMs?: number;
  /** Security settings from `--kafka-config`. */
  client?: KafkaClientSettings;
}

/**
 * Everything the driver asks Kafka directly: topic metadata and end offsets. The one place
 * spark-sync reads offsets from TypeScript; writes and key reads happen in Spark.
 */
export class KafkaAdmin {
  private constructor(
    private readonly admin: Admin,
    private readonly where: string,
  ) {}

  static async connect(options: KafkaAdminOptions): Promise<KafkaAdmin> {
    const where = options.bootstrapServers.join(',');
    const timeout = options.connectTimeoutMs ?? 10_000;
    const kafka = new Kafka({
      clientId: 'spark-sync',
      brokers: options.bootstrapServers,
      logLevel: logLevel.NOTHING,
      connectionTimeout: Math.min(timeout, 5_000),
      requestTimeout: 30_000,
      retry: { retries: 3, initialRetryTime: 300, maxRetryTime: timeout / 2 },
      ...(options.client ?? NO_KAFKA_SETTINGS).kafkajs,
    });
    const admin = kafka.admin();
    try {
      await withDeadline(admin.connect(), timeout, `connecting to ${where}`);
      // connect() only opens a socket lazily; a metadata request proves the cluster answers.
      await withDeadline(admin.describeCluster(), timeout, `asking ${where} for its cluster`);
    } catch (err) {
      await admin.disconnect().catch(() => undefined);
      if (isAuthFailure(err)) throw authFailed(where, options.client, err);
      if (isUntrustedCertificate(err)) throw untrusted(where, options.client, err);
      throw unreachable(where, err);
    }
    return new KafkaAdmin(admin, where);
  }

  /** The topic's partition count, or undefined when it does not exist. */
  async partitionCount(topic: string): Promise<number | undefined> {
    const topics = await this.call(() => this.admin.listTopics(), 'listing topics');
    if (!topics.includes(topic)) return undefined;
    const meta = await this.call(() => this.admin.fetchTopicMetadata({ topics: [topic] }), `reading metadata of ${topic}`);
    return meta.topics[0].partitions.length;
  }

  /** How many brokers the cluster reports. */
  async brokerCount(): Promise<number> {
    return (await this.call(() => this.admin.describeCluster(), 'describing the cluster')).brokers.length;
  }

  /**
   * Creates the topic and resolves to the replication factor it got, read back from its metadata.
   * Without `replicationFactor` the broker's `default.replication.factor` applies: kafkajs sends
   * -1, which brokers since Kafka 2.4 (KIP-464) take as their default.
   */
  async createTopic(topic: string, partitions: number, replicationFactor?: number): Promise<number> {
    await this.call(
      // Not kafkajs's waitForLeaders: it gives up when the broker it asks has not yet heard of the
      // topic (UNKNOWN_TOPIC_OR_PARTITION), which a cluster's brokers briefly may not have.
      () => this.admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: replicationFactor ?? -1 }], waitForLeaders: false }),
      `creating topic ${topic}`,
    ).catch((err: unknown) => {
      const refused = causes(err).find((e) => e.type === 'INVALID_REPLICATION_FACTOR');
      if (refused) {
        throw new SparkSyncError('USAGE', `Kafka at ${this.where} refused topic ${topic} with replication factor ${replicationFactor ?? 'default'}: ${firstLine(refused.message ?? '')}`, {
          cause: err,
          hint: 'a replication factor cannot exceed the brokers in the cluster; pass a smaller --replication-factor, or none for the broker\'s default',
        });
      }
      throw err;
    });
    const meta = await this.call(() => this.untilLeaders(topic, partitions), `waiting for the leaders of ${topic}`);
    return meta.partitions[0].replicas.length;
  }

  /**
   * Creates the checkpoint topic: one partition, compacted (a key's latest value is all that
   * matters), taking records up to 8 MB (a file's checkpoint carries its batches). A principal
   * that may not create it fails in one line naming the topic and the permission.
   */
  async createCheckpointTopic(topic: string, replicationFactor?: number): Promise<number> {
    const configEntries = [{ name: 'cleanup.policy', value: 'compact' }, { name: 'max.message.bytes', value: String(8 * 1024 * 1024) }];
    try {
      await this.admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: replicationFactor ?? -1, configEntries }], waitForLeaders: false });
    } catch (err) {
      if (causes(err).some((e) => e.type === 'TOPIC_ALREADY_EXISTS')) return replicationFactor ?? -1;
      if (causes(err).some((e) => /AUTHORIZATION_FAILED/.test(e.type ?? ''))) {
        throw new SparkSyncError('KAFKA_NOT_AUTHORIZED', `Kafka at ${this.where} refused to create the checkpoint topic ${topic}: the principal lacks the Create permission on it (or on the cluster)`, {
          cause: err,
          hint: `create ${topic} with cleanup.policy=compact and grant the principal Read, Write and Describe on it, or pass --checkpoint-topic with a topic it may use (none: keep the checkpoint local); nothing was written`,
        });
      }
      return this.call(() => Promise.reject(err), `creating the checkpoint topic ${topic}`);
    }
    const meta = await this.call(() => this.untilLeaders(topic, 1), `waiting for the leader of ${topic}`);
    return meta.partitions[0].replicas.length;
  }

  /** The topic's metadata once every partition has a leader, as the brokers' metadata catches up. */
  private async untilLeaders(topic: string, partitions: number, timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const meta = (await this.admin.fetchTopicMetadata({ topics: [topic] })).topics[0];
        if (meta.partitions.length >= partitions && meta.partitions.every((p) => p.leader >= 0)) return meta;
      } catch (err) {
        if (!causes(err).some((e) => e.type === 'UNKNOWN_TOPIC_OR_PARTITION' || e.type === 'LEADER_NOT_AVAILABLE') || Date.now() > deadline) throw err;
      }
      if (Date.now() > deadline) throw new Error(`topic ${topic} has partitions without a leader after ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /**
   * The largest record batch the topic takes (`max.message.bytes`, its own or the broker's
   * default), as the broker describes it.
   */
  async maxMessageBytes(topic: string): Promise<number> {
    // Right after the topic was created, a broker may not know it yet: retried like a leader change.
    const described = await this.retrying(
      topic,
      () => this.admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['max.message.bytes'] }], includeSynonyms: false }),
      `reading the configuration of ${topic}`,
    );
    const value = described.resources[0]?.configEntries.find((e) => e.configName === 'max.message.bytes')?.configValue;
    const bytes = Number(value);
    if (!Number.isFinite(bytes) || bytes <= 0) throw new SparkSyncError('INTERNAL', `Kafka at ${this.where} gave no max.message.bytes for topic ${topic}`);
    return bytes;
  }

  async deleteTopic(topic: string): Promise<void> {
    await this.call(() => this.admin.deleteTopics({ topics: [topic] }), `deleting topic ${topic}`);
  }

  /**
   * Each partition's end offset (high watermark), indexed by partition. A leader that just died
   * (its partitions move to another broker within seconds) is waited out: see {@link retrying}.
   */
  async endOffsets(topic: string): Promise<number[]> {
    const offsets = await this.retrying(topic, () => this.admin.fetchTopicOffsets(topic), `reading end offsets of ${topic}`);
    const ends = new Array<number>(offsets.length);
    for (const o of offsets) ends[o.partition] = Number(o.high);
    return ends;
  }

  /** Each partition's first offset (its log start: what retention or deleted records left), indexed by partition. */
  async startOffsets(topic: string): Promise<number[]> {
    const offsets = await this.retrying(topic, () => this.admin.fetchTopicOffsets(topic), `reading start offsets of ${topic}`);
    const starts = new Array<number>(offsets.length);
    for (const o of offsets) starts[o.partition] = Number(o.low);
    return starts;
  }

  async close(): Promise<void> {
    await this.admin.disconnect();
  }

  /**
   * A read that may meet a broker that just died: kafkajs gives up on the first refused
   * connection or NOT_LEADER answer, while the cluster elects a new leader within seconds. Such
   * errors are retried, with the topic's metadata refreshed in between, for up to
   * {@link LEADER_CHANGE_WAIT_MS}; then (or on any other error) the read fails as {@link call}'s.
   */
  private async retrying<T>(topic: string, op: () => Promise<T>, what: string): Promise<T> {
    const deadline = Date.now() + LEADER_CHANGE_WAIT_MS;
    for (;;) {
      try {
        return await op();
      } catch (err) {
        if (!isLeaderChange(err) || Date.now() > deadline) return this.call(() => Promise.reject(err), what);
      }
      await new Promise((r) => setTimeout(r, 500));
      await this.admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
    }
  }

  private async call<T>(op: () => Promise<T>, what: string): Promise<T> {
    try {
      return await op();
    } catch (err) {
      const name = (err as Error).name ?? '';
      if (/Connection|Timeout|NumberOfRetriesExceeded|BrokerNotFound/.test(name)) throw unreachable(this.where, err);
      throw new SparkSyncError('INTERNAL', `Kafka failed ${what}: ${firstLine((err as Error).message)}`, { cause: err });
    }
  }
}

/** How long a read waits out a leader change before Kafka counts as unreachable (exit 3). */
const LEADER_CHANGE_WAIT_MS = 30_000;

/** A refused connection or a stale leader: what a broker's death looks like until metadata moves on. */
function isLeaderChange(err: unknown): boolean {
  return causes(err).some((e) =>
    /Connection|BrokerNotFound|NumberOfRetriesExceeded|RequestTimeout/.test(e.name ?? '') ||
    ['NOT_LEADER_OR_FOLLOWER', 'NOT_LEADER_FOR_PARTITION', 'LEADER_NOT_AVAILABLE', 'UNKNOWN_TOPIC_OR_PARTITION', 'REQUEST_TIMED_OUT'].includes(e.type ?? ''));
}

/** An error and the errors it wraps (kafkajs's retry and aggregate errors, `cause`). */
function causes(err: unknown): Array<{ type?: string; name?: string; message?: string }> {
  const out: Array<{ type?: string; name?: string; message?: string }> = [];
  const walk = (e: unknown, depth: number) => {
    if (!e || typeof e !== 'object' || depth > 8) return;
    const x = e as { type?: string; name?: string; message?: string; cause?: unknown; originalError?: unknown; errors?: unknown[] };
    out.push(x);
    walk(x.originalError, depth + 1);
    walk(x.cause, depth + 1);
    for (const inner of x.errors ?? []) walk(inner, depth + 1);
  };
  walk(err, 0);
  return out;
}

/** kafkajs wraps a refused login in its retry error; the cause chain names it. */
function isAuthFailure(err: unknown): boolean {
  for (let e = err as { name?: string; cause?: unknown; originalError?: unknown } | undefined; e; e = (e.originalError ?? e.cause) as typeof e) {
    if (/SASLAuthentication|Authentication/.test(e.name ?? '')) return true;
  }
  return /SASL .*authentication failed|Authentication failed/i.test((err as Error)?.message ?? '');
}

/** Node's TLS verification errors: the broker answered, but its certificate is not trusted. */
function isUntrustedCertificate(err: unknown): boolean {
  return /certificate|CERT_|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS_CERT_ALTNAME/i.test(`${(err as Error)?.message ?? ''} ${(err as { code?: string })?.code ?? ''}`);
}

function untrusted(where: string, client: KafkaClientSettings | undefined, cause: unknown): SparkSyncError {
  return new SparkSyncError('KAFKA_TLS_FAILED', `Kafka at ${where} presented a TLS certificate this client does not trust: ${firstLine((cause as Error).message ?? String(cause)).replace(/^Connection error: /, '')}`, {
    cause,
    hint: `set ssl.truststore.type=PEM and ssl.truststore.location=<the CA's PEM file> in ${client?.file ? `--kafka-config ${client.file}` : '--kafka-config'} (retrying will not help)`,
  });
}

function authFailed(where: string, client: KafkaClientSettings | undefined, cause: unknown): SparkSyncError {
  // kafkajs's message names the mechanism and the broker's reason, never the password.
  return new SparkSyncError('KAFKA_AUTH_FAILED', `Kafka at ${where} refused the login: ${firstLine((cause as Error).message ?? String(cause))}`, {
    cause,
    hint: `check the user and password in ${client?.file ? `--kafka-config ${client.file}` : '--kafka-config'} (retrying will not help)`,
  });
}

function unreachable(where: string, cause: unknown): SparkSyncError {
  return new SparkSyncError('KAFKA_UNAVAILABLE', `Kafka at ${where} did not answer: ${firstLine((cause as Error).message ?? String(cause))}`, {
    cause,
    hint: 'check --bootstrap-server and that the broker is up, then rerun (safe to retry)',
  });
}

function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms ${what}`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
