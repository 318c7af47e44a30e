import type { CheckpointStore } from '../checkpoint/checkpoint-store';
import type { RecoveryMode } from '../config/submit-config';
import type { KafkaAdmin } from '../kafka/kafka-admin';
import type { Logger } from '../log/logger';
import type { JobKeys, SparkJobs } from '../spark/spark-jobs';
import type { SyncEventListener } from './sync-events';

/**
 * What syncing one file needs: the run's checkpoint, Kafka and Spark handles and settings. Shared
 * by the batch loop (file-sync.ts), the recovery of a cut-off batch (recovery.ts) and the
 * natural-key index (identity-index.ts), none of which import each other for it.
 */
export interface FileSyncContext {
  store: CheckpointStore;
  admin: KafkaAdmin;
  jobs: SparkJobs;
  topic: string;
  partitions: number;
  batchSize: number;
  kafkaConf: string[];
  recovery: RecoveryMode;
  /** Where rows Kafka refuses as too large go (`--dead-letter-topic`), if anywhere. */
  deadLetterTopic?: string;
  /** How records are keyed; `identityIndex` is the topic's index in natural-key mode. */
  keys: JobKeys;
  log: Logger;
  emit: SyncEventListener;
  /** Checked between batches: a stop request ends the run at a batch boundary. */
  signal?: AbortSignal;
}
