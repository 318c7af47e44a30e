/**
 * Where a run's time goes, from Spark's own event log (`spark.eventLog.enabled`): the bench turns
 * it on for the plain sink and spark-sync steps, and this reads it back. Figures are Spark's task
 * metrics and stage times, never estimates:
 *
 * - start: process spawn to Spark's application start (JVM start, classpath, SparkContext);
 * - driver between jobs: application time with no Spark job running (query planning and code
 *   generation, Kafka offset reads, checkpoint commits, file planning);
 * - per stage kind, summed over tasks: reading and keying (a map stage's run time less its shuffle
 *   write), shuffle write, shuffle fetch wait, sort and produce (spark-sync's own task metrics,
 *   named accumulators `spark-sync.sort.ms` and `spark-sync.produce.ms`), the rest of a result stage;
 * - jobs wall: time some job was running;
 * - shutdown: application end (or the last job's end) to process exit.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface Profile {
  /** Process spawn to Spark application start, s. */
  startSeconds: number;
  /** Wall time with at least one Spark job running, s. */
  jobsSeconds: number;
  /** Application time with no job running: planning, Kafka offset reads, checkpoint commits, s. */
  driverSeconds: number;
  /** Application end to process exit, s. */
  shutdownSeconds: number;
  /** Summed over tasks, s. */
  tasks: {
    readAndKey: number;
    shuffleWrite: number;
    shuffleFetchWait: number;
    sort: number;
    produce: number;
    otherResult: number;
    gc: number;
  };
  inputBytes: number;
  shuffleBytes: number;
  jobs: number;
  stages: number;
  /** Wall seconds of the jobs of each phase of a run, by the description the driver gives them ({@link phaseOf}). */
  phases: Record<string, number>;
}

/**
 * The phase a Spark job belongs to, from the description the driver sets before it
 * (`describeJobs` in file-sync.ts, recovery.ts, identity-index.ts).
 */
export function phaseOf(description: string): string {
  if (/\(counting its rows\)$/.test(description)) return 'count rows';
  if (/\(checking its keys\)$/.test(description)) return 'check keys';
  if (/\(indexing its identities\)$/.test(description)) return 'index identities';
  if (/ batch \d+\/\d+ \(rows /.test(description)) return 'write batches';
  if (/: recovery of /.test(description)) return 'recovery';
  return description ? 'other' : 'undescribed';
}

type Json = Record<string, unknown>;

function accumulables(stage: Json): Map<string, number> {
  const out = new Map<string, number>();
  for (const a of (stage.Accumulables as Json[] | undefined) ?? []) out.set(String(a.Name), Number(a.Value));
  return out;
}

/** The profile of the one application in `dir` (an event log folder), for a process spawned at `spawnedAtMs` that ran `wallSeconds`. */
export function profileEventLog(dir: string, spawnedAtMs: number, wallSeconds: number): Profile {
  const files = fs.readdirSync(dir).filter((f) => !f.startsWith('.'));
  if (files.length !== 1) throw new Error(`expected one event log in ${dir}, found ${files.length}`);
  const lines = fs.readFileSync(path.join(dir, files[0]), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Json);
  let appStart = 0;
  let appEnd = 0;
  const jobSpans: Array<[number, number]> = [];
  const jobStarts = new Map<number, number>();
  const p: Profile = {
    startSeconds: 0, jobsSeconds: 0, driverSeconds: 0, shutdownSeconds: 0,
    tasks: { readAndKey: 0, shuffleWrite: 0, shuffleFetchWait: 0, sort: 0, produce: 0, otherResult: 0, gc: 0 },
    inputBytes: 0, shuffleBytes: 0, jobs: 0, stages: 0, phases: {},
  };
  const jobPhases = new Map<number, string>();
  let lastEvent = 0;
  for (const e of lines) {
    for (const t of [e.Timestamp, e['Completion Time'], e['Submission Time']]) if (typeof t === 'number') lastEvent = Math.max(lastEvent, t);
    switch (e.Event) {
      case 'SparkListenerApplicationStart':
        appStart = Number(e.Timestamp);
        break;
      case 'SparkListenerApplicationEnd':
        appEnd = Number(e.Timestamp);
        break;
      case 'SparkListenerJobStart':
        jobStarts.set(Number(e['Job ID']), Number(e['Submission Time']));
        jobPhases.set(Number(e['Job ID']), phaseOf(String((e.Properties as Json | undefined)?.['spark.job.description'] ?? '')));
        p.jobs++;
        break;
      case 'SparkListenerJobEnd': {
        const id = Number(e['Job ID']);
        const span: [number, number] = [jobStarts.get(id) ?? 0, Number(e['Completion Time'])];
        jobSpans.push(span);
        const phase = jobPhases.get(id) ?? 'undescribed';
        p.phases[phase] = (p.phases[phase] ?? 0) + (span[1] - span[0]) / 1000;
        break;
      }
      case 'SparkListenerStageCompleted': {
        const a = accumulables(e['Stage Info'] as Json);
        const run = (a.get('internal.metrics.executorRunTime') ?? 0) / 1000;
        const writeTime = (a.get('internal.metrics.shuffle.write.writeTime') ?? 0) / 1e9;
        const fetchWait = (a.get('internal.metrics.shuffle.read.fetchWaitTime') ?? 0) / 1000;
        const sort = (a.get('spark-sync.sort.ms') ?? 0) / 1000;
        const produce = (a.get('spark-sync.produce.ms') ?? 0) / 1000;
        const shuffleWritten = a.get('internal.metrics.shuffle.write.bytesWritten') ?? 0;
        p.stages++;
        p.inputBytes += a.get('internal.metrics.input.bytesRead') ?? 0;
        p.shuffleBytes += shuffleWritten;
        p.tasks.gc += (a.get('internal.metrics.jvmGCTime') ?? 0) / 1000;
        p.tasks.shuffleWrite += writeTime;
        p.tasks.shuffleFetchWait += fetchWait;
        if (shuffleWritten > 0) {
          p.tasks.readAndKey += run - writeTime;
        } else if (sort + produce > 0) {
          p.tasks.sort += sort;
          p.tasks.produce += produce;
          p.tasks.otherResult += Math.max(0, run - sort - produce - fetchWait);
        } else {
          // A stage that reads and writes in one pass (the plain sink, spark-sync's direct write
          // without its metrics, an audit): its run time, less any shuffle fetch wait.
          p.tasks.otherResult += Math.max(0, run - fetchWait);
        }
        break;
      }
    }
  }
  // A driver that exits without stopping Spark (the CLI exits as soon as its work is done)
  // writes no application end: its last job's end stands in for it.
  if (appEnd === 0) appEnd = lastEvent;
  p.jobsSeconds = unionSeconds(jobSpans);
  p.startSeconds = (appStart - spawnedAtMs) / 1000;
  p.driverSeconds = (appEnd - appStart) / 1000 - p.jobsSeconds;
  p.shutdownSeconds = Math.max(0, wallSeconds - (appEnd - spawnedAtMs) / 1000);
  return p;
}

/** Wall time covered by at least one of the spans, s. */
function unionSeconds(spans: Array<[number, number]>): number {
  const sorted = [...spans].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let [s, e] = [-1, -1];
  for (const [a, b] of sorted) {
    if (a > e) {
      total += e - s;
      [s, e] = [a, b];
    } else e = Math.max(e, b);
  }
  return (total + e - s) / 1000;
}
