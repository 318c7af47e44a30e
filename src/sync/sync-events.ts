/** Progress of a sync, as events (the library re-emits them; the CLI logs them). */
export type SyncEvent =
  | {
      /** The source is planned: how many files this run will go through (synced or skipped). */
      type: 'run-planned';
      topic: string;
      files: number;
    }
  | {
      type: 'file-started';
      topic: string;
      file: string;
      totalRecords: number;
      recordsProcessed: number;
      resumed: boolean;
      /** How many input splits Spark reads the file in (positions do not depend on it). */
      inputSplits: number;
    }
  | {
      type: 'batch-committed';
      topic: string;
      file: string;
      batchIndex: number;
      firstPosition: number;
      endPosition: number;
      /** Records of the batch now in Kafka. */
      records: number;
      /** Records an earlier attempt of a task had already written (skipped, not re-sent). */
      skipped: number;
      /** Rows too large for Kafka, sent to the dead-letter topic. */
      deadLettered: number;
      recordsProcessed: number;
      totalRecords: number;
      endOffsets: number[];
      seconds: number;
      /**
       * Of which the checkpoint's two changes, the pending mark before the write and the commit
       * after it: each a SQLite transaction (fsynced) and, with the checkpoint topic, a Kafka
       * transaction acknowledged before it.
       */
      checkpointSeconds: number;
      /**
       * Natural-key mode: where the batch's identity-index segment came from, the plan that
       * wrote the batch (its records' identities, still at hand) or Kafka (read back).
       */
      indexedFrom?: 'plan' | 'kafka';
    }
  | {
      type: 'file-recovered';
      topic: string;
      file: string;
      mode: 'window' | 'full';
      /** merge: the records past the checkpoint were the batch's own prefix; join: the anti-join. */
      method: 'merge' | 'join';
      /** Records the crashed run had put into Kafka past the checkpoint. */
      foundInKafka: number;
      /** Rows of the cut-off batch that were missing and have now been written. */
      deltaWritten: number;
      /** Records found that are not the file's own rows (duplicates or foreign), kept as an anomaly. */
      unexpectedRecords: number;
      recordsProcessed: number;
      seconds: number;
      /** Bytes of source files Spark read during the recovery (task input metrics). */
      sourceBytesRead: number;
    }
  | { type: 'file-completed'; topic: string; file: string; records: number; batches: number; seconds: number }
  | { type: 'file-skipped'; topic: string; file: string; reason: 'completed' };

export type SyncEventListener = (event: SyncEvent) => void;
