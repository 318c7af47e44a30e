/**
 * Offset ranges of a topic: where a batch's, a file's or a cut-off write's records lie. A file's
 * records are usually one range; another file writing while it was cut off mid-batch splits them.
 */

/** Offsets `[from[p], to[p])` of every partition p. */
export interface OffsetRange {
  from: number[];
  to: number[];
}

/** Records in the ranges, over all partitions. */
export function recordsIn(ranges: readonly OffsetRange[]): number {
  return ranges.reduce((n, r) => n + r.to.reduce((m, end, p) => m + Math.max(0, end - r.from[p]), 0), 0);
}

/** Records in the ranges, per partition. */
export function countsIn(ranges: readonly OffsetRange[], partitions: number): number[] {
  const counts = new Array<number>(partitions).fill(0);
  for (const r of ranges) for (let p = 0; p < partitions; p++) counts[p] += Math.max(0, r.to[p] - r.from[p]);
  return counts;
}

/** Whether a range holds no record in any partition. */
export function isEmptyRange(r: OffsetRange): boolean {
  return r.to.every((end, p) => end <= r.from[p]);
}

/**
 * The ranges, in order, with each one joined to the one before it when together they cover one
 * unbroken range in every partition, and empty ones dropped: a file's consecutive batches become
 * one range, while a batch written after another file's records stays apart.
 */
export function mergeRanges(ranges: readonly OffsetRange[]): OffsetRange[] {
  const out: OffsetRange[] = [];
  for (const r of ranges.filter((x) => !isEmptyRange(x))) {
    const last = out[out.length - 1];
    const joined = last && join(last, r);
    if (joined) out[out.length - 1] = joined;
    else out.push({ from: [...r.from], to: [...r.to] });
  }
  return out;
}

/** `a` and then `b` as one range, if they are one in every partition (or either is empty there). */
function join(a: OffsetRange, b: OffsetRange): OffsetRange | undefined {
  const from: number[] = [];
  const to: number[] = [];
  for (let p = 0; p < a.from.length; p++) {
    const aEmpty = a.to[p] <= a.from[p];
    const bEmpty = b.to[p] <= b.from[p];
    if (aEmpty) {
      from.push(b.from[p]);
      to.push(b.to[p]);
    } else if (bEmpty) {
      from.push(a.from[p]);
      to.push(a.to[p]);
    } else if (b.from[p] === a.to[p]) {
      from.push(a.from[p]);
      to.push(b.to[p]);
    } else {
      return undefined;
    }
  }
  return { from, to };
}
