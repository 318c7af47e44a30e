import fs from 'node:fs';
import { CheckpointStore } from '../checkpoint/checkpoint-store';
import type { FileStatus } from '../checkpoint/file-state';
import { SubmitConfig } from '../config/submit-config';
import { SparkJobs } from '../spark/spark-jobs';
import { fingerprintChanged } from '../checkpoint/source-fingerprint';
import { completedFileChange } from './source-checks';
import { checkSource, planFiles } from './source';

/** What a submit would do with one file. */
export interface PlannedFile {
  file: string;
  format: string;
  /** NEW: not in the checkpoint; SOURCE_CHANGED: would be refused (exit 4) until reset or restored. */
  status: Exclude<FileStatus, 'NOT_STARTED'> | 'NEW' | 'SOURCE_CHANGED';
  totalRecords: number;
  recordsProcessed: number;
  /** Records past the checkpoint: at most this many are sent (a batch cut off by a crash may already be partly in Kafka). */
  toSend: number;
  batches: number;
}

export interface DryRunSummary {
  command: 'submit';
  ok: true;
  dryRun: true;
  topic: string;
  checkpoint: string;
  files: PlannedFile[];
  recordsToSend: number;
  batches: number;
}

/**
 * `submit --dry-run`: plans the source and reads the checkpoint (read-only, if it exists) to say
 * which files would be sent, how many records and in how many batches. Writes nothing: no
 * checkpoint, no topic, no message; Kafka is not contacted.
 */
export async function planSubmit(config: SubmitConfig, spark: () => Promise<SparkJobs>): Promise<DryRunSummary> {
  const root = checkSource(config.source);
  const store = fs.existsSync(config.checkpoint) ? await CheckpointStore.open(config.checkpoint, { create: false }) : undefined;
  try {
    const jobs = await spark();
    const planned: PlannedFile[] = [];
    for (const file of await planFiles(jobs, root, config.format, config.csv, config.where)) {
      const cp = await store?.getFile(config.topic, file.identity);
      const base = { file: file.identity, format: file.format, recordsProcessed: cp?.recordsProcessed ?? 0 };
      if (cp?.status === 'COMPLETED') {
        const changed = await completedFileChange(jobs, cp, file.uri);
        planned.push({ ...base, status: changed ? 'SOURCE_CHANGED' : 'COMPLETED', totalRecords: cp.totalRecords ?? 0, toSend: 0, batches: 0 });
        continue;
      }
      const d = await jobs.describeFile(file.uri, file.format);
      if (cp && fingerprintChanged(cp, { sizeBytes: d.sizeBytes, mtimeMs: d.mtimeMs, rows: d.rows })) {
        planned.push({ ...base, status: 'SOURCE_CHANGED', totalRecords: d.rows, toSend: 0, batches: 0 });
        continue;
      }
      const toSend = d.rows - base.recordsProcessed;
      planned.push({ ...base, status: cp ? 'IN_PROGRESS' : 'NEW', totalRecords: d.rows, toSend, batches: Math.ceil(toSend / config.batchSize) });
    }
    return {
      command: 'submit',
      ok: true,
      dryRun: true,
      topic: config.topic,
      checkpoint: config.checkpoint,
      files: planned,
      recordsToSend: planned.reduce((n, f) => n + f.toSend, 0),
      batches: planned.reduce((n, f) => n + f.batches, 0),
    };
  } finally {
    await store?.close();
  }
}
