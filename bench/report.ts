import type { Profile } from './profile';
/** Figures of one benchmark step; `seconds` is the process's wall time, JVM start included. */
export interface StepFigures {
  records: number;
  seconds: number;
  rps: number;
  mbps: number;
  peakRssMb: number;
  /** CPU seconds of the step's own process (in local mode the Spark tasks run inside it). */
  cpuSeconds?: number;
  /** CPU seconds the broker spent during the step: it shares the machine's cores. */
  brokerCpuSeconds?: number;
  messages?: number;
  distinctKeys?: number;
  missing?: number;
  duplicated?: number;
  foreign?: number;
  exact?: boolean;
}

/** Where a step's time went (bench/profile.ts), with the checkpoint commits the CLI logged. */
export type StepProfile = Profile & { checkpointSeconds?: number };

export type RecoveryFigures = StepFigures & { recoveryStepSeconds: number; foundInKafka: number; deltaWritten: number; recoveryBytesRead: number };

export interface RunFigures {
  run: number;
  /** (a)–(c2) are left out with --recovery-only. */
  ceiling?: StepFigures & { selfReportedRps?: number };
  sink?: StepFigures & { profile?: StepProfile };
  /** The plain sink writing spark-sync's messages with the lineage headers (file, position). */
  sinkHeaders?: StepFigures & { profile?: StepProfile };
  sync?: StepFigures & { profile?: StepProfile; auditSeconds?: number };
  /** The plain sink writing the message key's text as the Kafka key, in no order. */
  sinkMessageKey?: StepFigures & { profile?: StepProfile };
  /** spark-sync with --message-key: per-key order, a shuffle and a sort. */
  syncMessageKey?: StepFigures & { profile?: StepProfile; auditSeconds?: number };
  /** (d)–(f) run in local mode only: their crash is an in-task SIGKILL of the driver's own JVM. */
  window?: RecoveryFigures;
  /** The run SIGKILLed at ~70% that (d) recovers: its wall time and peak RSS up to the kill. */
  windowCrash?: StepFigures;
  full?: RecoveryFigures;
  tail?: StepFigures;
}

/** The `--json` line: medians over the runs; every ratio is taken within a run, then the median. */
export interface BenchSummary {
  records: number;
  partitions: number;
  runs: number;
  recovery_batch_size: number;
  record_bytes: number;
  /** compression.type of every producer in the run. */
  compression: string;
  /** Where the sink's and spark-sync's Spark jobs ran. */
  master: string;
  ceiling_rps: number;
  ceiling_self_reported_rps: number;
  spark_sink_rps: number;
  spark_sync_rps: number;
  ratio_vs_spark_sink: number;
  /** The plain sink writing spark-sync's messages with the lineage headers, and spark-sync's ratio to it. */
  spark_sink_same_messages_rps: number;
  ratio_vs_spark_sink_same_messages: number;
  ratio_vs_ceiling: number;
  /** Message-key mode: the plain sink keyed by the same column, spark-sync with --message-key, and their ratio. */
  spark_sink_message_key_rps: number;
  spark_sync_message_key_rps: number;
  ratio_message_key_vs_sink: number;
  recovery_seconds: number;
  tail_fresh_seconds: number;
  recovery_overhead: number;
  full_recovery_seconds: number;
  window_recovery_step_seconds: number;
  full_recovery_step_seconds: number;
  window_vs_full_step: number;
  window_vs_full_rerun: number;
  /** Source bytes Spark read during the recovery step (task input metrics). */
  window_recovery_bytes_read: number;
  full_recovery_bytes_read: number;
  driver_peak_rss_mb: number;
  /** Peak RSS of the window-recovery rerun and of the run it recovers, up to its SIGKILL. */
  recovery_peak_rss_mb: number;
  crashed_run_peak_rss_mb: number;
  exact: boolean;
  machine: string;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const STEPS: Array<[keyof Omit<RunFigures, 'run'>, string]> = [
  ['ceiling', '(a) Kafka producer ceiling'],
  ['sink', '(b) plain Spark Kafka sink'],
  ['sinkHeaders', '(b2) plain sink, with the lineage headers'],
  ['sync', '(c) spark-sync submit'],
  ['sinkMessageKey', '(b3) plain sink, message key'],
  ['syncMessageKey', '(c2) spark-sync --message-key'],
  ['windowCrash', '(d) the run SIGKILLed at ~70%'],
  ['window', '(d) rerun after crash, window'],
  ['full', '(e) rerun after crash, full'],
  ['tail', '(f) fresh sync of the last 30%'],
];

/** Per run, where each Spark step's time went (with --profile), one column per step. */
export function renderProfiles(runs: RunFigures[]): string {
  const columns: Array<[string, (r: RunFigures) => StepProfile | undefined]> = [
    ['plain sink', (r) => r.sink?.profile],
    ['spark-sync', (r) => r.sync?.profile],
    ['sink, headers', (r) => r.sinkHeaders?.profile],
    ['sink, msg key', (r) => r.sinkMessageKey?.profile],
    ['sync, msg key', (r) => r.syncMessageKey?.profile],
  ];
  return runs.map((r) => {
    const profiles = columns.map(([label, f]) => [label, f(r)] as const).filter((c): c is readonly [string, StepProfile] => c[1] !== undefined);
    if (profiles.length === 0) return '';
    const audits = profiles.map(([label]) => (label === 'spark-sync' ? r.sync?.auditSeconds : label === 'sync, msg key' ? r.syncMessageKey?.auditSeconds : undefined));
    return renderProfileTable(`where the time goes, run ${r.run} (Spark event log; task times are summed over tasks)`, profiles) +
      `${'audit after the sync (separate process, wall)'.padEnd(58)}${audits.map((a) => ' ' + (a === undefined ? '–' : a.toFixed(2)).padStart(14)).join('')}\n\n`;
  }).join('');
}

/** One table of profiles side by side: a row per measure, a column per step. */
export function renderProfileTable(title: string, profiles: ReadonlyArray<readonly [string, StepProfile]>): string {
  const rows: Array<[string, (p: StepProfile) => number | undefined]> = [
    ['JVM and Spark start (wall)', (p) => p.startSeconds],
    ['driver between jobs: planning, offsets, checkpoint (wall)', (p) => p.driverSeconds],
    ['  of which checkpoint commits (wall)', (p) => p.checkpointSeconds],
    ['Spark jobs running (wall)', (p) => p.jobsSeconds],
    ...phaseRows(profiles.map(([, p]) => p)),
    ['shutdown (wall)', (p) => p.shutdownSeconds],
    ['task time: read and key (map stages)', (p) => p.tasks.readAndKey],
    ['task time: shuffle write', (p) => p.tasks.shuffleWrite],
    ['task time: shuffle fetch wait', (p) => p.tasks.shuffleFetchWait],
    ['task time: sort', (p) => p.tasks.sort],
    ['task time: produce', (p) => p.tasks.produce],
    ['task time: read, key and produce in one stage, other', (p) => p.tasks.otherResult],
    ['task time: JVM GC (within the above)', (p) => p.tasks.gc],
    ['input read, MB', (p) => p.inputBytes / 1e6],
    ['shuffle written, MB', (p) => p.shuffleBytes / 1e6],
    ['Spark jobs / stages', (p) => p.jobs],
  ];
  const out = [title, `${'measure'.padEnd(58)}${profiles.map(([label]) => ' ' + label.padStart(14)).join('')}`];
  for (const [what, f] of rows) {
    const cell = (p: StepProfile) => (f(p) === undefined ? '–' : f(p)!.toFixed(what.startsWith('Spark jobs /') ? 0 : 2));
    out.push(`${what.padEnd(58)}${profiles.map(([, p]) => ' ' + cell(p).padStart(14)).join('')}`);
  }
  return out.join('\n') + '\n';
}

/** One row per phase any of the profiles has (jobs' wall seconds by the driver's job descriptions). */
export function phaseRows(profiles: StepProfile[]): Array<[string, (p: StepProfile) => number | undefined]> {
  const phases = [...new Set(profiles.flatMap((p) => Object.keys(p.phases)))].sort();
  return phases.map((phase) => [`  of which jobs: ${phase} (wall, summed)`, (p: StepProfile) => p.phases[phase]]);
}

/** The human table: one row per step (medians over runs), then the ratios and the goals. */
export function renderTable(s: BenchSummary, runs: RunFigures[]): string {
  const header = ['step', 'records', 'records/s', 'MB/s', 'wall s', 'CPU s', 'broker CPU s', 'peak RSS MB', 'exact'];
  const rows = STEPS.filter(([key]) => runs[0][key] !== undefined).map(([key, label]) => {
    const steps = runs.map((r) => r[key]!);
    const med = (f: (x: StepFigures) => number) => median(steps.map(f));
    const exact = steps.every((x) => x.exact === undefined) ? `${steps[0].messages ?? ''} msgs` : steps.every((x) => x.exact) ? 'yes' : 'NO';
    const cpu = (f: (x: StepFigures) => number | undefined) => (steps.every((x) => f(x) !== undefined) ? med((x) => f(x)!).toFixed(1) : '–');
    return [label, String(steps[0].records), fmt(med((x) => x.rps)), med((x) => x.mbps).toFixed(1), med((x) => x.seconds).toFixed(2), cpu((x) => x.cpuSeconds), cpu((x) => x.brokerCpuSeconds), fmt(med((x) => x.peakRssMb)), exact];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const goals: Array<[string, string, boolean | undefined]> = ([
    ['spark-sync / plain Spark sink', `${s.ratio_vs_spark_sink.toFixed(2)}`, s.ratio_vs_spark_sink >= 0.9],
    ['spark-sync / plain sink with lineage headers (b2)', `${s.ratio_vs_spark_sink_same_messages.toFixed(2)}`, s.ratio_vs_spark_sink_same_messages >= 0.9],
    ['spark-sync / producer ceiling', `${s.ratio_vs_ceiling.toFixed(2)}`, s.ratio_vs_ceiling >= 0.35],
    ['message keys: spark-sync (c2) / plain sink (b3)', `${s.ratio_message_key_vs_sink.toFixed(2)}`, s.ratio_message_key_vs_sink >= 0.75],
    ['window rerun / fresh 30% (recovery overhead)', `${s.recovery_overhead.toFixed(2)}`, s.recovery_overhead <= 1.15],
    ['full / window recovery step', `${s.window_vs_full_step.toFixed(1)}× (${s.full_recovery_step_seconds} s vs ${s.window_recovery_step_seconds} s)`, s.window_vs_full_step >= 5],
    ['full / window rerun', `${s.window_vs_full_rerun.toFixed(1)}×`, undefined],
    ['source bytes read by the recovery step, window / full', `${(s.window_recovery_bytes_read / 1e6).toFixed(0)} MB / ${(s.full_recovery_bytes_read / 1e6).toFixed(0)} MB`, undefined],
  ] as Array<[string, string, boolean | undefined]>).filter(([, value]) => !value.includes('NaN'));
  return [
    `spark-sync benchmark: ${s.records} records of ${s.record_bytes} bytes, ${s.partitions} partitions, compression.type=${s.compression}, Spark ${s.master}, median of ${s.runs} run(s); recovery steps use batches of ${s.recovery_batch_size}`,
    `machine: ${s.machine}`,
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    ...goals.map(([what, value, met]) => `${what.padEnd(46)} ${value.padEnd(28)} ${met === undefined ? '' : met ? 'goal met' : 'goal missed'}`),
    `all spark-sync steps exact: ${s.exact ? 'yes' : 'NO'}`,
    '',
  ].join('\n');
}

/** A two-panel SVG bar chart: throughput of (a)–(c), and seconds of the recovery steps. */
export function renderChart(s: BenchSummary): string {
  const panels: Array<{ title: string; unit: string; bars: Array<[string, number, string]> }> = [
    {
      title: `Throughput, ${s.records.toLocaleString('en-US')} records (wall time, JVM start included)`,
      unit: 'records/s',
      bars: ([
        ['Kafka producer ceiling', s.ceiling_rps, '#8c8c8c'],
        ['plain Spark Kafka sink', s.spark_sink_rps, '#4e79a7'],
        ['plain sink, lineage headers', s.spark_sink_same_messages_rps, '#76b7b2'],
        ['spark-sync submit', s.spark_sync_rps, '#f28e2b'],
        ['plain sink, message key', s.spark_sink_message_key_rps, '#59a14f'],
        ['spark-sync --message-key', s.spark_sync_message_key_rps, '#edc948'],
      ] as Array<[string, number, string]>).filter(([, v]) => Number.isFinite(v)),
    },
    {
      title: 'Finishing the last 30% (seconds, lower is better)',
      unit: 's',
      bars: ([
        ['fresh sync of the last 30%', s.tail_fresh_seconds, '#8c8c8c'],
        ['rerun after crash, window', s.recovery_seconds, '#f28e2b'],
        ['rerun after crash, full', s.full_recovery_seconds, '#e15759'],
        ['recovery step, window', s.window_recovery_step_seconds, '#f28e2b'],
        ['recovery step, full', s.full_recovery_step_seconds, '#e15759'],
      ] as Array<[string, number, string]>).filter(([, v]) => Number.isFinite(v)),
    },
  ];
  const width = 760;
  const labelWidth = 210;
  const barArea = width - labelWidth - 160;
  const parts: string[] = [];
  let y = 20;
  for (const panel of panels) {
    parts.push(`<text x="10" y="${y}" font-weight="bold">${escapeXml(panel.title)}</text>`);
    y += 12;
    const max = Math.max(...panel.bars.map((b) => b[1]), 1e-9);
    for (const [label, value, color] of panel.bars) {
      const w = Math.max(1, (value / max) * barArea);
      parts.push(
        `<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end">${escapeXml(label)}</text>`,
        `<rect x="${labelWidth}" y="${y + 2}" width="${w.toFixed(1)}" height="18" fill="${color}"/>`,
        `<text x="${(labelWidth + w + 6).toFixed(1)}" y="${y + 15}">${escapeXml(`${fmt(value)} ${panel.unit}`)}</text>`,
      );
      y += 24;
    }
    y += 22;
  }
  parts.push(`<text x="10" y="${y}" font-size="11" fill="#555">${escapeXml(`${s.machine}; median of ${s.runs} run(s); exact: ${s.exact ? 'yes' : 'NO'}`)}</text>`);
  const height = y + 12;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="13">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`;
}

function fmt(x: number): string {
  return x >= 100 ? Math.round(x).toLocaleString('en-US') : String(Math.round(x * 100) / 100);
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
