/**
 * `npm run bench -- --records N [--repeat R] [--partitions P] [--json]`
 *
 * One run, one broker, one data set: Kafka's own producer (the ceiling), Spark's plain Kafka sink,
 * spark-sync submit, both again in message-key mode, and spark-sync's recovery after a SIGKILL at
 * ~70% (window and full), against a fresh sync of the same last 30%. Every spark-sync step is checked exact (messages = distinct
 * keys = rows, nothing missing, duplicated or foreign); an inexact run reports itself failed.
 * Results, the JSON and an SVG chart go to bench-results/<run>/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Command } from 'commander';
import { PACKAGE_ROOT } from '../src/config/paths';
import { kafkaClasspath, startDevBroker } from '../src/dev/dev-broker';
import { KafkaAdmin } from '../src/kafka/kafka-admin';
import { benchLog, CLI, lastLine, logLines, Measured, must, processCpuSeconds, runMeasured, sparkTask } from './measured-process';
import { BenchSummary, median, RecoveryFigures, renderChart, renderProfiles, renderTable, RunFigures, StepFigures } from './report';
import { Profile, profileEventLog } from './profile';
import { SparkTask } from './spark-task';

const SPARK_TASK = path.join(__dirname, 'spark-task.js');
/**
 * The message key of steps (b3) and (c2): the sample's unique id, so the topic's distinct keys
 * still count its rows, and the keys spread over every partition.
 */
const MESSAGE_KEY = ['id'];
/** spark-sync's producer settings (PartitionWriter), given to the ceiling too. */
const PRODUCER_SETTINGS = ['acks=all', 'enable.idempotence=true', 'linger.ms=20', 'batch.size=262144'];

interface Options {
  records: number;
  partitions: number;
  repeat: number;
  json: boolean;
  out: string;
  /** Spark's event log for the sink and spark-sync steps, summarized per stage kind (bench/profile.ts). */
  profile: boolean;
  /** The producers' compression.type, the same for the ceiling, the sink and spark-sync. */
  compression: string;
  /** Steps (a)–(c2) only: the throughput comparison without the recovery steps. */
  throughputOnly: boolean;
  /** Steps (d) and (f) only: the crash at ~70%, its window recovery and a fresh sync of the same tail (a large file's recovery, without the hours of the rest). */
  recoveryOnly: boolean;
  /** Where the sink's and spark-sync's Spark jobs run: local[*], or a spark:// master. */
  master: string;
  /** `--conf` settings for that master (a standalone fixture's: driver on loopback, executor memory). */
  masterConf: string[];
}

const log = benchLog('bench');

async function main(): Promise<void> {
  const program = new Command('bench')
    .description('spark-sync side by side with the plain Spark Kafka sink and the Kafka producer ceiling, plus recovery cost')
    .option('--records <n>', 'rows in the benchmark file', '1000000')
    .option('--partitions <n>', 'partitions of every benchmark topic', '6')
    .option('--repeat <n>', 'runs of every step; figures are medians', '1')
    .option('--json', 'print the results as one JSON object on the last stdout line')
    .option('--profile', 'record Spark\'s event log for steps (b) and (c) and report where their time goes')
    .option('--master <url>', 'where steps (b)–(f) run Spark: local[*], a spark://host:port master, or "standalone" for a master and two 1-core workers started on loopback for the run', 'local[*]')
    .option('--throughput-only', 'run steps (a)–(c2) only, not the recovery steps (d)–(f)')
    .option('--recovery-only', 'run steps (d) and (f) only: the SIGKILL at ~70%, the window recovery and a fresh sync of the last 30%')
    .option('--compression <codec>', 'compression.type of every producer: the ceiling\'s, the sink\'s and spark-sync\'s (none, lz4, zstd, snappy, gzip)', 'none')
    .option('--out <dir>', 'where results, data and the broker live', path.join(PACKAGE_ROOT, 'bench-results'))
    .parse();
  const o = program.opts<{ records: string; partitions: string; repeat: string; json?: boolean; out: string; profile?: boolean; compression: string; master: string; throughputOnly?: boolean; recoveryOnly?: boolean }>();
  const options: Options = {
    records: wholeNumber(o.records, '--records', 10), partitions: wholeNumber(o.partitions, '--partitions', 1), repeat: wholeNumber(o.repeat, '--repeat', 1),
    json: !!o.json, out: path.resolve(o.out), profile: !!o.profile, compression: o.compression, master: o.master, masterConf: [], throughputOnly: !!o.throughputOnly, recoveryOnly: !!o.recoveryOnly,
  };

  const runDir = path.join(options.out, `run-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const dataDir = path.join(runDir, 'data');
  fs.mkdirSync(dataDir, { recursive: true });
  log(`results in ${runDir}`);

  const broker = await startDevBroker({ dataDir: path.join(runDir, 'broker'), heapMb: 1024 });
  const admin = await KafkaAdmin.connect({ bootstrapServers: [broker.bootstrap] });
  // The test suite's standalone fixture (Spark's own distribution, child JVMs on loopback).
  const cluster = options.master === 'standalone' ? await (await import('../test/helpers/spark-cluster-fixture')).startSparkStandalone(2) : undefined;
  if (cluster) {
    options.master = cluster.masterUrl;
    options.masterConf = cluster.conf;
    log(`standalone cluster at ${cluster.masterUrl}: two workers of 1 core and 1 GB`);
  }
  try {
    const ctx = new BenchContext(options, dataDir, broker.bootstrap, broker.pid, admin, path.join(runDir, 'event-logs'));
    await ctx.prepareData();
    const runs: RunFigures[] = [];
    for (let r = 1; r <= options.repeat; r++) {
      log(`run ${r} of ${options.repeat}`);
      runs.push(await ctx.run(r));
    }
    const summary = summarize(options, ctx, runs);
    fs.writeFileSync(path.join(runDir, 'results.json'), JSON.stringify({ summary, runs }, null, 2) + '\n');
    fs.writeFileSync(path.join(runDir, 'chart.svg'), renderChart(summary));
    process.stdout.write(renderTable(summary, runs));
    if (options.profile) process.stdout.write(renderProfiles(runs));
    process.stdout.write(`\nresults: ${path.join(runDir, 'results.json')}\nchart:   ${path.join(runDir, 'chart.svg')}\n`);
    if (options.json) process.stdout.write(JSON.stringify(summary) + '\n');
    if (!summary.exact) {
      log('FAILED: a spark-sync step was not exact (see the table)');
      process.exitCode = 5;
    }
  } finally {
    await cluster?.stop();
    await admin.close().catch(() => undefined);
    await broker.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(path.join(runDir, 'broker'), { recursive: true, force: true });
  }
}

class BenchContext {
  readonly batchSize: number;
  readonly fullFile: string;
  readonly tailFile: string;
  readonly tailFirstRow: number;
  recordBytes = 0;

  constructor(
    readonly options: Options,
    private readonly dataDir: string,
    private readonly bootstrap: string,
    private readonly brokerPid: number,
    private readonly admin: KafkaAdmin,
    private readonly eventLogs: string,
  ) {
    // Recovery steps run with 10 batches, so a crash at 70% cuts batch 7 of 10.
    this.batchSize = Math.ceil(options.records / 10);
    this.tailFirstRow = 7 * this.batchSize;
    this.fullFile = path.join(dataDir, 'bench.parquet');
    this.tailFile = path.join(dataDir, 'bench-tail.parquet');
  }

  async prepareData(): Promise<void> {
    const n = this.options.records;
    log(`writing ${n} rows to ${this.fullFile} and rows ${this.tailFirstRow}–${n} to ${this.tailFile}`);
    const written = await sparkTask({ task: 'write-samples', fullFile: this.fullFile, rows: n, tailFile: this.tailFile, tailFirstRow: this.tailFirstRow });
    this.recordBytes = Number(written.recordBytes);
    log(`mean message size ${this.recordBytes} bytes (64-byte key + JSON value)`);
  }

  async run(r: number): Promise<RunFigures> {
    const topic = (step: string) => `bench-${r}-${step}`;
    if (this.options.recoveryOnly) {
      log('(a)–(c2) and (e) skipped: --recovery-only');
      const window = await this.crashAndRecover(r, 'window', topic('window'));
      return { run: r, window, windowCrash: window.crashed, tail: await this.tailFresh(r, topic('tail')) };
    }
    const throughput = await this.throughput(r, topic);
    if (this.options.throughputOnly) {
      log('(d)–(f) skipped: --throughput-only');
      return throughput;
    }
    if (!this.options.master.startsWith('local')) {
      log('(d)–(f) skipped: their crash is an in-task SIGKILL of the driver, which on a cluster runs no tasks');
      return throughput;
    }
    const window = await this.crashAndRecover(r, 'window', topic('window'));
    const full = await this.crashAndRecover(r, 'full', topic('full'));
    return { ...throughput, window, windowCrash: window.crashed, full, tail: await this.tailFresh(r, topic('tail')) };
  }

  /** (a)–(c2): the ceiling, the plain sink and spark-sync, positional and with message keys. */
  private async throughput(r: number, topic: (step: string) => string): Promise<RunFigures> {
    const n = this.options.records;
    const p = this.options.partitions;
    log('(a) ceiling: Kafka ProducerPerformance');
    await this.admin.createTopic(topic('ceiling'), p);
    const ceilingRun = await this.measured(() => runMeasured('java', ['-Xmx1g', '-cp', kafkaClasspath(), 'org.apache.kafka.tools.ProducerPerformance',
      '--topic', topic('ceiling'), '--num-records', String(n), '--record-size', String(this.recordBytes), '--throughput', '-1',
      '--producer-props', `bootstrap.servers=${this.bootstrap}`, ...PRODUCER_SETTINGS, `compression.type=${this.options.compression}`]));
    must(ceilingRun, 'ProducerPerformance');
    // The tool prints a line every 5 s and its total last.
    const selfReported = [...ceilingRun.stdout.matchAll(/(\d+) records sent, ([\d.]+) records\/sec/g)].pop();
    const ceiling = { ...this.step(ceilingRun, n), messages: await this.messages(topic('ceiling')), selfReportedRps: selfReported ? Number(selfReported[2]) : undefined };

    const runSink = async (variant: 'plain' | 'headers' | 'message-key') => {
      const step = { plain: 'sink', headers: 'sink-headers', 'message-key': 'sink-message-key' }[variant];
      log({ plain: '(b) plain Spark Kafka sink', headers: '(b2) plain Spark Kafka sink, with the lineage headers', 'message-key': `(b3) plain Spark Kafka sink, message key ${MESSAGE_KEY.join(',')} (Kafka's partitioner, no order)` }[variant]);
      await this.admin.createTopic(topic(step), p);
      const events = this.eventLogDir(`${step}-${r}`);
      const sinkTask: SparkTask = {
        task: 'plain-sink', file: this.fullFile, rows: n, topic: topic(step), bootstrap: this.bootstrap, conf: [...this.options.masterConf, ...eventLogConf(events)],
        producer: [`compression.type=${this.options.compression}`], master: this.options.master, headers: variant === 'headers', messageKey: variant === 'message-key' ? MESSAGE_KEY : undefined,
      };
      const sinkRun = await this.measured(() => runMeasured(process.execPath, [SPARK_TASK, sinkTask.task, JSON.stringify(sinkTask)]));
      must(sinkRun, 'plain Spark sink');
      return { ...this.step(sinkRun, n), messages: await this.messages(topic(step)), ...profiled(events, sinkRun) };
    };
    const runSync = async (messageKeyed: boolean) => {
      const step = messageKeyed ? 'sync-message-key' : 'sync';
      log(messageKeyed ? `(c2) spark-sync submit --message-key ${MESSAGE_KEY.join(',')}` : '(c) spark-sync submit, default batch size');
      const events = this.eventLogDir(`${step}-${r}`);
      const extra = [...eventLogConf(events).flatMap((kv) => ['--conf', kv]), ...(messageKeyed ? ['--message-key', MESSAGE_KEY.join(',')] : [])];
      const syncRun = await this.measured(() => this.submit(this.fullFile, topic(step), `cp-${r}-${step}.db`, extra));
      must(syncRun, `spark-sync submit${messageKeyed ? ' --message-key' : ''}`);
      const auditStarted = Date.now();
      const audit = await this.audit(this.fullFile, n, topic(step), messageKeyed ? MESSAGE_KEY : undefined);
      const checkpointSeconds = logLines(syncRun.stderr, 'batch committed').reduce((t, l) => t + Number(l.checkpoint_seconds ?? 0), 0);
      return { ...this.step(syncRun, n), ...audit, auditSeconds: round((Date.now() - auditStarted) / 1000, 2), ...profiled(events, syncRun, checkpointSeconds) };
    };
    // Each pair of sink and spark-sync steps swaps places every other run, so neither always
    // meets a broker still busy with the step before.
    const pair = async <A, B>(first: () => Promise<A>, second: () => Promise<B>): Promise<[A, B]> => {
      if (r % 2 === 1) {
        const a = await first();
        return [a, await second()];
      }
      const b = await second();
      return [await first(), b];
    };
    const [sinkFigures, sync] = await pair(() => runSink('plain'), () => runSync(false));
    // (b2): between (b) and (b2) lies the cost of the lineage headers' bytes (--lineage-headers;
    // spark-sync writes none by default).
    const sinkHeaders = await runSink('headers');
    // (b3)/(c2): the ordered path (a shuffle by Kafka partition, a sort by position) against the
    // sink writing the same keys through Kafka's partitioner in whatever order its tasks meet them.
    const [sinkMessageKey, syncMessageKey] = await pair(() => runSink('message-key'), () => runSync(true));
    return { run: r, ceiling, sink: sinkFigures, sinkHeaders, sync, sinkMessageKey, syncMessageKey };
  }

  /** (f): a new file of the last 30% of rows, same batch size. */
  private async tailFresh(r: number, topic: string): Promise<StepFigures> {
    const n = this.options.records;
    log('(f) tail fresh: a new file of the last 30% of rows, same batch size');
    const tailRun = await this.submit(this.tailFile, topic, `cp-${r}-tail.db`, ['--batch-size', String(this.batchSize)]);
    must(tailRun, 'tail fresh submit');
    return { ...this.step(tailRun, n - this.tailFirstRow), ...(await this.audit(this.tailFile, n - this.tailFirstRow, topic)) };
  }

  /** (d)/(e): SIGKILL inside batch 7 of 10, about halfway through its write; then the timed rerun. */
  private async crashAndRecover(r: number, mode: 'window' | 'full', topic: string): Promise<RecoveryFigures & { crashed: StepFigures }> {
    log(`(${mode === 'window' ? 'd' : 'e'}) ${mode} recovery: SIGKILL at ~70%, then rerun${mode === 'full' ? ' with --recovery full' : ''}`);
    const checkpoint = `cp-${r}-${mode}.db`;
    const batch = ['--batch-size', String(this.batchSize)];
    const crashed = await this.submit(this.fullFile, topic, checkpoint, batch, {
      SPARK_SYNC_TEST_CRASH_AT: 'mid-batch@7',
      SPARK_SYNC_TEST_CRASH_AFTER_RECORDS: String(Math.max(1, Math.floor(this.batchSize / this.options.partitions / 2))),
    });
    if (crashed.signal !== 'SIGKILL') throw new Error(`the ${mode} crash run was meant to die by SIGKILL but ended with ${crashed.signal ?? crashed.code}: ${lastLine(crashed.stderr)}`);
    const rerun = await this.submit(this.fullFile, topic, checkpoint, [...batch, '--recovery', mode]);
    must(rerun, `${mode} recovery rerun`);
    const [recovered] = logLines(rerun.stderr, 'recovered a batch cut off by a crash');
    if (!recovered) throw new Error(`the ${mode} rerun did not recover a cut-off batch`);
    const n = this.options.records;
    return {
      ...this.step(rerun, n - this.tailFirstRow),
      ...(await this.audit(this.fullFile, n, topic)),
      // The killed run: 7 batches committed, the 8th (index 7) about half written at the kill.
      crashed: this.step(crashed, Math.round(7.5 * this.batchSize)),
      recoveryStepSeconds: Number(recovered.seconds),
      recoveryBytesRead: Number(recovered.source_bytes_read ?? 0),
      foundInKafka: Number(recovered.found_in_kafka),
      deltaWritten: Number(recovered.delta_written),
    };
  }

  private submit(file: string, topic: string, checkpoint: string, extra: string[], env: Record<string, string> = {}): Promise<Measured> {
    const producerConfig = path.join(this.dataDir, 'producer.properties');
    fs.writeFileSync(producerConfig, `compression.type=${this.options.compression}\n`);
    return runMeasured(process.execPath, [CLI, 'submit', '--source', file, '--topic', topic, '--bootstrap-server', this.bootstrap,
      '--create-topic', '--partitions', String(this.options.partitions), '--checkpoint', path.join(this.dataDir, checkpoint), '--log-format', 'json',
      '--kafka-config', producerConfig, '--master', this.options.master, ...this.options.masterConf.flatMap((c) => ['--conf', c]), ...extra], env);
  }

  /** Where a step's Spark event log goes, or undefined without --profile. */
  private eventLogDir(step: string): string | undefined {
    if (!this.options.profile) return undefined;
    const dir = path.join(this.eventLogs, step);
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  }

  private step(m: Measured & { brokerCpuSeconds?: number }, records: number): StepFigures {
    return {
      records, seconds: round(m.seconds, 2), rps: Math.round(records / m.seconds), mbps: round((records * this.recordBytes) / m.seconds / 1e6, 1), peakRssMb: m.peakRssMb,
      cpuSeconds: round(m.cpuSeconds, 1), ...(m.brokerCpuSeconds === undefined ? {} : { brokerCpuSeconds: round(m.brokerCpuSeconds, 1) }),
    };
  }

  /** Runs a step and adds the CPU seconds the broker spent meanwhile (the broker shares the cores). */
  private async measured(run: () => Promise<Measured>): Promise<Measured & { brokerCpuSeconds: number }> {
    const before = processCpuSeconds(this.brokerPid);
    const m = await run();
    return { ...m, brokerCpuSeconds: processCpuSeconds(this.brokerPid) - before };
  }

  private async messages(topic: string): Promise<number> {
    return (await this.admin.endOffsets(topic)).reduce((a, b) => a + b, 0);
  }

  /** Messages and distinct keys counted independently, then missing, duplicated and foreign by spark-sync's audit. */
  private async audit(file: string, rows: number, topic: string, messageKey?: string[]): Promise<Pick<StepFigures, 'messages' | 'distinctKeys' | 'missing' | 'duplicated' | 'foreign' | 'exact'>> {
    const endOffsets = await this.admin.endOffsets(topic);
    const c = await sparkTask({ task: 'check-topic', file, rows, topic, bootstrap: this.bootstrap, endOffsets, messageKey });
    const [messages, distinctKeys, missing, duplicated, foreign] = [c.messages, c.distinctKeys, c.missing, c.duplicated, c.foreign].map(Number);
    const exact = messages === rows && distinctKeys === rows && missing === 0 && duplicated === 0 && foreign === 0;
    return { messages, distinctKeys, missing, duplicated, foreign, exact };
  }
}

function eventLogConf(dir: string | undefined): string[] {
  return dir ? ['spark.eventLog.enabled=true', `spark.eventLog.dir=file://${dir}`] : [];
}

function profiled(dir: string | undefined, m: Measured, checkpointSeconds?: number): { profile?: Profile } {
  if (!dir) return {};
  return { profile: { ...profileEventLog(dir, m.startedAtMs, m.seconds), ...(checkpointSeconds === undefined ? {} : { checkpointSeconds: round(checkpointSeconds, 2) }) } };
}

function summarize(options: Options, ctx: BenchContext, runs: RunFigures[]): BenchSummary {
  const m = (f: (r: RunFigures) => number, digits = 2) => round(median(runs.map(f)), digits);
  return {
    records: options.records,
    partitions: options.partitions,
    runs: runs.length,
    recovery_batch_size: ctx.batchSize,
    record_bytes: ctx.recordBytes,
    compression: options.compression,
    master: options.master,
    ceiling_rps: m((r) => r.ceiling?.rps ?? NaN, 0),
    ceiling_self_reported_rps: m((r) => r.ceiling?.selfReportedRps ?? NaN, 0),
    spark_sink_rps: m((r) => r.sink?.rps ?? NaN, 0),
    spark_sync_rps: m((r) => r.sync?.rps ?? NaN, 0),
    ratio_vs_spark_sink: m((r) => (r.sync?.rps ?? NaN) / (r.sink?.rps ?? NaN)),
    spark_sink_same_messages_rps: m((r) => r.sinkHeaders?.rps ?? NaN, 0),
    ratio_vs_spark_sink_same_messages: m((r) => (r.sync?.rps ?? NaN) / (r.sinkHeaders?.rps ?? NaN)),
    ratio_vs_ceiling: m((r) => (r.sync?.rps ?? NaN) / (r.ceiling?.rps ?? NaN)),
    spark_sink_message_key_rps: m((r) => r.sinkMessageKey?.rps ?? NaN, 0),
    spark_sync_message_key_rps: m((r) => r.syncMessageKey?.rps ?? NaN, 0),
    ratio_message_key_vs_sink: m((r) => (r.syncMessageKey?.rps ?? NaN) / (r.sinkMessageKey?.rps ?? NaN)),
    // NaN (null in the JSON) where (d)–(f) did not run.
    recovery_seconds: m((r) => r.window?.seconds ?? NaN),
    tail_fresh_seconds: m((r) => r.tail?.seconds ?? NaN),
    recovery_overhead: m((r) => (r.window?.seconds ?? NaN) / (r.tail?.seconds ?? NaN)),
    full_recovery_seconds: m((r) => r.full?.seconds ?? NaN),
    window_recovery_step_seconds: m((r) => r.window?.recoveryStepSeconds ?? NaN),
    full_recovery_step_seconds: m((r) => r.full?.recoveryStepSeconds ?? NaN),
    window_vs_full_step: m((r) => (r.full?.recoveryStepSeconds ?? NaN) / (r.window?.recoveryStepSeconds ?? NaN)),
    window_vs_full_rerun: m((r) => (r.full?.seconds ?? NaN) / (r.window?.seconds ?? NaN)),
    window_recovery_bytes_read: m((r) => r.window?.recoveryBytesRead ?? NaN, 0),
    full_recovery_bytes_read: m((r) => r.full?.recoveryBytesRead ?? NaN, 0),
    driver_peak_rss_mb: m((r) => r.sync?.peakRssMb ?? NaN, 0),
    recovery_peak_rss_mb: m((r) => r.window?.peakRssMb ?? NaN, 0),
    crashed_run_peak_rss_mb: m((r) => r.windowCrash?.peakRssMb ?? NaN, 0),
    exact: runs.every((r) => (r.sync?.exact ?? true) && (r.syncMessageKey?.exact ?? true) && (r.window?.exact ?? true) && (r.full?.exact ?? true) && (r.tail?.exact ?? true)),
    machine: `${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}, ${javaVersion()}`,
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function wholeNumber(value: string, option: string, min: number): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) {
    process.stderr.write(`bench: ${option} must be a whole number ≥ ${min}, not '${value}'\n`);
    process.exit(2);
  }
  return n;
}

function javaVersion(): string {
  const r = spawnSync('java', ['-version'], { encoding: 'utf8' });
  return (r.stderr.split('\n')[0] ?? 'java').replace(/"/g, '');
}

main().catch((err: unknown) => {
  log(`FAILED: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
