import type { CheckpointStore, FileCheckpoint } from '../checkpoint/checkpoint-store';
import type { KafkaAdmin } from '../kafka/kafka-admin';
import { OffsetRange, isEmptyRange, mergeRanges, recordsIn } from '../kafka/offset-range';
import type { Logger } from '../log/logger';

/**
 * Several sources may sync into one topic, one run at a time (the lease), and a run may find
 * another file of the topic cut off mid-batch by a crash. Before this run writes anything, each
 * such file's cut-off write is sealed: its records lie from where its write was open to where the
 * next file's records (or the topic's end) begin, and that range becomes the file's tail. The
 * file's recovery, whenever it comes, looks for its records there and writes what is missing at
 * the topic's end; natural-key runs index the tail's identities meanwhile, so no other file sends
 * them again (identity-index.ts).
 */
export async function sealCutOffWrites(deps: { store: CheckpointStore; admin: KafkaAdmin; log: Logger }, topic: string): Promise<void> {
  const files = await deps.store.listFiles(topic);
  const open = files.filter((f) => f.status === 'IN_PROGRESS' && openFrom(f) !== null);
  if (open.length === 0) return;
  const end = await deps.admin.endOffsets(topic);
  const starts = await recordStarts(deps.store, topic, files);
  for (const f of open) {
    // A topic recreated or repartitioned under the file: its resume refuses it, naming why.
    if (end.length !== f.partitionCount || end.some((e, p) => e < f.partitionOffsets![p])) continue;
    const from = openFrom(f)!;
    // Up to the first record of another file at or past where this one's write began.
    const to = end.map((e, p) => Math.max(from[p], Math.min(e, ...starts.filter((s) => s.file !== f.fileName && s.offsets[p] >= from[p]).map((s) => s.offsets[p]))));
    const tail = mergeRanges([...(f.tailRanges ?? []), { from, to }]);
    await deps.store.sealTail(topic, f.fileName, tail);
    const records = recordsIn(tail);
    if (records > 0) deps.log.info({ topic, file: f.fileName, records, ranges: tail }, 'sealed the records a cut-off write left past the checkpoint; the file\'s next run recovers them');
  }
}

/** Where an IN_PROGRESS file's uncommitted write began; a checkpoint older than this field: its checkpoint offsets. */
function openFrom(f: FileCheckpoint): number[] | null {
  return f.openFrom ?? (f.tailRanges === null ? f.partitionOffsets : null);
}

/**
 * Where each file's known records begin: its committed batches' ranges and its sealed tail, the
 * ones that hold records. A start offset alone says nothing: a file that sent nothing (all
 * replays) starts where the next one does, before or after a cut-off write alike.
 */
async function recordStarts(store: CheckpointStore, topic: string, files: FileCheckpoint[]): Promise<Array<{ file: string; offsets: number[] }>> {
  const starts: Array<{ file: string; offsets: number[] }> = [];
  for (const f of files) {
    const ranges: OffsetRange[] = [...(await store.listBatches(topic, f.fileName)).flatMap((b) => b.ranges), ...(f.tailRanges ?? [])];
    // Per partition, only where the range holds records: an empty partition of it bounds nothing.
    for (const r of ranges.filter((x) => !isEmptyRange(x))) starts.push({ file: f.fileName, offsets: r.from.map((from, p) => (r.to[p] > from ? from : Infinity)) });
  }
  return starts;
}
