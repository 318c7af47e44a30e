/**
 * `npm run test:node`: the node tests, with one real Kafka broker shared by every test file that
 * needs no broker of its own (TLS, SASL, ACLs and the cluster tests start theirs), instead of a
 * broker started and stopped per file. Test files keep to their own topics (uniqueTopic), so
 * sharing is safe; the broker is stopped at the end and must leave no process behind.
 *
 * Files run two at a time (`--lanes`, 2 by default), longest first. One file alone keeps one of
 * the 2 cores busy on average (a driver JVM per CLI call, brokers, clusters, and the waits
 * between), so a second beside it uses the other; the longest go first so no long file starts
 * last and runs alone. Each file runs in a `node --test` of its own; its TAP output is printed
 * whole when it ends, so two files' results never interleave. The unit tests run as one job.
 *
 * Every JVM of the suite compiles with C1 only (-XX:TieredStopAtLevel=1): the tests run many
 * short-lived JVMs (a driver per CLI call, executors, brokers) on 2 cores, and C2's compiler
 * threads cost them more CPU than its faster code gives back (a 100,000-row submit: 23 s of CPU
 * with C2, 13 s without). The driver's JVM, started inside node through the bridge, takes it from
 * SPARK_SYNC_DRIVER_JAVA_OPTIONS; every JVM started by the `java` launcher (brokers, Spark
 * daemons and executors, HDFS) from JDK_JAVA_OPTIONS, which the bridge's JVM does not read, so
 * no CLI's stderr gains a "Picked up" line. A variable already set is left as it is.
 *
 * The driver's JVM also maps a class-data-sharing archive of the classes a driver loads
 * (driver-class-archive.ts), built once per classpath and JDK before the tests start. No test may
 * rebuild this checkout's dist/ or jars/ (package-install packs a copy): files running beside it
 * load them, and a JVM refuses the archive once its jars change.
 *
 * Usage: node dist/test/run-suite.js [--lanes N] [node --test options…] -- <test files…>
 * The ten slowest tests and each file's time are printed at the end.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDevBroker } from '../src/dev';
import { isAlive } from '../src/util/processes';

const C1_ONLY = '-XX:TieredStopAtLevel=1';

/**
 * Seconds each file took in a full run, two at a time, on 2 cores (the runner's summary), to start
 * the longest first. Only the order depends on them; a file not listed counts as 30 s.
 */
const MEASURED_SECONDS: Record<string, number> = {
  'kafka-broker-failures': 402,
  'cluster-standalone': 323,
  'crash-recovery': 298,
  'verify-and-consistency': 243,
  'business-keys': 233,
  'cluster-yarn': 153,
  'state-across-machines': 152,
  sources: 140,
  'signals-and-fencing': 136,
  submit: 133,
  'package-install': 130,
  hdfs: 85,
  hive: 80,
  'poison-records': 76,
  'spark-ui-and-preview': 54,
  unit: 48,
  security: 35,
  'checkpoint-disk-full': 33,
  'kafka-cluster-fixture': 31,
  'quick-sync': 27,
};

interface Job {
  name: string;
  files: string[];
  seconds: number;
}

interface JobResult {
  job: Job;
  code: number;
  ms: number;
}

async function main(): Promise<number> {
  process.env.JDK_JAVA_OPTIONS ??= C1_ONLY;
  // The archive takes about a minute to build on a fresh machine; the unit tests, which start no
  // driver that needs it, run meanwhile, and every other file starts once it is there.
  const archive = process.env.SPARK_SYNC_DRIVER_JAVA_OPTIONS === undefined ? archiveInBackground() : undefined;
  const driverOptions = process.env.SPARK_SYNC_DRIVER_JAVA_OPTIONS ?? archive!.options.then((opts) => [C1_ONLY, ...opts].join(' '));
  const { lanes, options, files } = parseArgs(process.argv.slice(2));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'spark-sync-shared-broker-'));
  const running = new Set<ReturnType<typeof spawn>>();
  // Ctrl-C or a kill stops the files running and starts no other. Caught from before the broker
  // starts: a kill during its start would otherwise end this process and leave the broker behind.
  let interrupted: NodeJS.Signals | undefined;
  const forward = (signal: NodeJS.Signals) => {
    interrupted = signal;
    running.forEach((child) => child.kill(signal));
    archive?.stop(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const started = Date.now();
  const broker = await startDevBroker({ dataDir });
  process.stderr.write(`# shared broker ${broker.bootstrap} (pid ${broker.pid}) up in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  const env = { ...process.env, SPARK_SYNC_TEST_BROKER: broker.bootstrap, SPARK_SYNC_TEST_BROKER_PID: String(broker.pid) };
  const results: JobResult[] = [];
  const runJob = async (job: Job, index: number) => {
    const jobEnv: NodeJS.ProcessEnv = { ...env, SPARK_SYNC_SLOWEST_TESTS_OUT: path.join(dataDir, `tests-${index}.json`) };
    if (job.name !== 'unit') jobEnv.SPARK_SYNC_DRIVER_JAVA_OPTIONS = await driverOptions;
    if (interrupted) return { job, code: 1, ms: 0 };
    return runOne(job, options, jobEnv, running);
  };
  try {
    const jobs = plan(files);
    results.push(...(await pool(jobs, lanes, runJob, () => interrupted !== undefined)));
    printSummary(dataDir, results, lanes, Date.now() - started);
    if (interrupted) process.stderr.write(`# ${interrupted}: stopped; ${jobs.length - results.filter((r) => r.ms > 0).length} of ${jobs.length} jobs did not start\n`);
    return interrupted || results.some((r) => r.code !== 0) ? 1 : 0;
  } finally {
    // A run of the unit tests alone never waits for the archive: its build stops with the run.
    archive?.stop('SIGTERM');
    await broker.stop();
    if (isAlive(broker.pid)) {
      process.stderr.write(`# the shared broker (pid ${broker.pid}) outlived its stop\n`);
      process.exitCode = 1;
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

function parseArgs(argv: string[]): { lanes: number; options: string[]; files: string[] } {
  const split = argv.indexOf('--');
  let options = split < 0 ? [] : argv.slice(0, split);
  const files = split < 0 ? argv : argv.slice(split + 1);
  let lanes = 2;
  const at = options.findIndex((o) => o === '--lanes' || o.startsWith('--lanes='));
  if (at >= 0) {
    const value = options[at].includes('=') ? options[at].split('=')[1] : options[at + 1];
    lanes = Number(value);
    if (!Number.isInteger(lanes) || lanes < 1) throw new Error(`--lanes ${value}: give a whole number ≥ 1`);
    options = options.filter((_, i) => i !== at && !(i === at + 1 && !options[at].includes('=')));
  }
  return { lanes, options, files };
}

/** The jobs, longest first: one per integration file, the unit tests as one. */
function plan(files: string[]): Job[] {
  const name = (f: string) => path.basename(f).replace(/(\.integration)?\.test\.js$/, '');
  const units = files.filter((f) => f.includes(`${path.sep}unit${path.sep}`));
  const jobs: Job[] = files.filter((f) => !units.includes(f)).map((f) => ({ name: name(f), files: [f], seconds: MEASURED_SECONDS[name(f)] ?? 30 }));
  if (units.length > 0) jobs.push({ name: 'unit', files: units, seconds: MEASURED_SECONDS.unit });
  // The unit tests first: they run while the driver class archive is built.
  return jobs.sort((a, b) => Number(b.name === 'unit') - Number(a.name === 'unit') || b.seconds - a.seconds);
}

/** driverClassArchiveOptions (which blocks while it builds) in a child process, so tests can run meanwhile. */
function archiveInBackground(): { options: Promise<string[]>; stop: (signal: NodeJS.Signals) => void } {
  const script = `const a = require(${JSON.stringify(path.join(__dirname, 'driver-class-archive'))});
process.stdout.write(JSON.stringify(a.driverClassArchiveOptions(${JSON.stringify(C1_ONLY)}, (l) => process.stderr.write(l + '\\n'))));`;
  // A process group of its own (the builder runs a demo sync and a JVM dump), so that a stop
  // reaches all of it: killed with the runner, it would otherwise build on, orphaned.
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  const options = new Promise<string[]>((resolve) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', () => {
      try {
        resolve(JSON.parse(out) as string[]);
      } catch {
        process.stderr.write('# driver class archive not used: its builder printed no options\n');
        resolve([]);
      }
    });
  });
  const stop = (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  return { options, stop };
}

/** Runs the jobs in order, `lanes` at a time, until all ran or `stopped()`. */
async function pool<T>(jobs: Job[], lanes: number, run: (job: Job, index: number) => Promise<T>, stopped: () => boolean): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const lane = async () => {
    while (next < jobs.length && !stopped()) {
      const i = next++;
      results.push(await run(jobs[i], i));
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, jobs.length) }, lane));
  return results;
}

/** One `node --test` over the job's files; its output is held and printed whole when it ends. */
function runOne(job: Job, options: string[], env: NodeJS.ProcessEnv, running: Set<ReturnType<typeof spawn>>): Promise<JobResult> {
  const started = Date.now();
  process.stderr.write(`# started ${job.name} (${job.files.length} file${job.files.length === 1 ? '' : 's'})\n`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--test', ...options, ...job.files], { stdio: ['ignore', 'pipe', 'pipe'], env });
    running.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    child.on('close', (exit, signal) => {
      running.delete(child);
      const code = exit ?? (signal ? 1 : 0);
      const ms = Date.now() - started;
      process.stdout.write(`# ${job.name}\n`);
      process.stdout.write(Buffer.concat(out));
      process.stderr.write(Buffer.concat(err));
      process.stderr.write(`# ${code === 0 ? 'passed' : `FAILED (exit ${code})`}: ${job.name} in ${(ms / 1000).toFixed(1)} s\n`);
      resolve({ job, code, ms });
    });
  });
}

/** The ten slowest tests (from each job's slowest-tests reporter) and each job's time. */
function printSummary(dataDir: string, results: JobResult[], lanes: number, wallMs: number): void {
  const tests: Array<{ name: string; ms: number; file: string }> = [];
  for (const f of fs.readdirSync(dataDir).filter((n) => /^tests-\d+\.json$/.test(n))) {
    tests.push(...(JSON.parse(fs.readFileSync(path.join(dataDir, f), 'utf8')) as { tests: typeof tests }).tests);
  }
  const fmt = (ms: number) => `${(ms / 1000).toFixed(1).padStart(7)} s`;
  const lines = [`\n# the ten slowest tests (of ${tests.length}):`];
  for (const t of [...tests].sort((a, b) => b.ms - a.ms).slice(0, 10)) lines.push(`#  ${fmt(t.ms)}  ${t.name.slice(0, 110)}  [${t.file}]`);
  lines.push(lanes > 1 ? `# per file (${lanes} at a time, so these add up to more than the wall time):` : '# per file:');
  for (const r of [...results].sort((a, b) => b.ms - a.ms)) lines.push(`#  ${fmt(r.ms)}  ${r.job.name}${r.code === 0 ? '' : '  FAILED'}`);
  lines.push(`# wall time: ${fmt(wallMs)}`);
  process.stderr.write(`${lines.join('\n')}\n`);
}

main().then(
  (code) => process.exit(process.exitCode || code),
  (err: unknown) => {
    process.stderr.write(`test run failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
