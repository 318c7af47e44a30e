import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/config/paths';
import { freePort } from '../../src/dev/dev-broker';
import { isAlive, sleep } from '../../src/util/processes';
import { processesUnder } from './process-leaks';

/** Spark's own distribution (PyPI pyspark's jars and bin), as the build unpacks it. */
export const SPARK_DIST = path.join(PACKAGE_ROOT, 'jars', 'spark-dist');
const LAUNCH = path.join(PACKAGE_ROOT, 'scripts', 'launch');

interface Daemon {
  child: ChildProcess;
  log: string;
}

export interface SparkStandalone {
  /** `spark://127.0.0.1:<port>` */
  masterUrl: string;
  /**
   * `--conf` settings a submit against this cluster needs on this machine: the driver on
   * loopback (the hostname resolves elsewhere), and executors small enough for 1 GB workers.
   */
  conf: string[];
  /** The pids of the executor JVMs running now, with their executor ids. */
  executors(): Array<{ pid: number; executorId: string; appId: string }>;
  /** SIGKILLs worker `index`'s JVM, as a machine failing would; its executors go with it. */
  killWorker(index: number): Promise<void>;
  /** Workers the master counts as ALIVE. */
  aliveWorkers(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * A Spark standalone cluster on loopback: a master and `workers` workers (1 core, 1 GB each),
 * each a child JVM started by the same scripts/launch/ scripts docker/compose.yaml runs. Their
 * SPARK_HOME is Spark's own distribution: no spark-sync jar and no Kafka client, so every class
 * an executor loads from spark-sync travels with the job. `stop` fails the test if a master,
 * worker or executor process outlives it.
 */
export async function startSparkStandalone(workers = 2): Promise<SparkStandalone> {
  const jars = fs.readdirSync(path.join(SPARK_DIST, 'jars'));
  assert.ok(jars.some((j) => j.startsWith('spark-core_2.12-3.5.7')), 'the cluster runs Spark 3.5.7');
  assert.deepEqual(jars.filter((j) => /^(spark-sync|kafka-clients|spark-sql-kafka|spark-token-provider-kafka|commons-pool2)/.test(j)), [], 'the cluster has none of the jars spark-sync ships');

  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'spark-sync-standalone-'));
  const env = { ...process.env, SPARK_HOME: SPARK_DIST, SPARK_LOCAL_IP: '127.0.0.1', SPARK_DAEMON_MEMORY: '256m' };
  const daemons: Daemon[] = [];
  const launch = (script: string, args: string[]): Daemon => {
    const child = spawn('bash', [path.join(LAUNCH, script), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const d: Daemon = { child, log: '' };
    const keep = (b: Buffer) => (d.log = (d.log + b.toString()).slice(-20_000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    daemons.push(d);
    return d;
  };
  const port = await freePort();
  const webuiPort = await freePort();
  const masterUrl = `spark://127.0.0.1:${port}`;
  const master = launch('spark-master.sh', ['--host', '127.0.0.1', '--port', String(port), '--webui-port', String(webuiPort)]);
  const workerDaemons: Daemon[] = [];
  const status = async (): Promise<{ workers: Array<{ state: string }> } | undefined> => {
    try {
      return (await (await fetch(`http://127.0.0.1:${webuiPort}/json/`)).json()) as { workers: Array<{ state: string }> };
    } catch {
      return undefined;
    }
  };
  const aliveWorkers = async () => (await status())?.workers.filter((w) => w.state === 'ALIVE').length ?? 0;
  const stop = async () => {
    // Workers first: each kills its executors on the way down.
    for (const d of [...workerDaemons, master]) {
      if (d.child.exitCode === null && d.child.signalCode === null) {
        const exited = new Promise((resolve) => d.child.once('exit', resolve));
        d.child.kill('SIGTERM');
        const hard = setTimeout(() => d.child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(hard);
      }
      assert.equal(isAlive(d.child.pid!), false, `Spark daemon pid ${d.child.pid} still running after stop`);
    }
    let left = processesUnder(base);
    for (let i = 0; left.length > 0 && i < 40; i++) {
      await sleep(250);
      left = processesUnder(base);
    }
    for (const pid of left) process.kill(pid, 'SIGKILL');
    assert.deepEqual(left, [], `processes of the Spark cluster outlived it: ${left.join(', ')}`);
    fs.rmSync(base, { recursive: true, force: true });
  };
  try {
    await waitFor(async () => (await status()) !== undefined, 60_000, () => `the Spark master did not start: ${master.log.slice(-2000)}`);
    for (let i = 0; i < workers; i++) {
      const workDir = path.join(base, `worker-${i}`);
      fs.mkdirSync(workDir);
      workerDaemons.push(launch('spark-worker.sh', ['--host', '127.0.0.1', '--cores', '1', '--memory', '1g', '--work-dir', workDir, '--webui-port', String(await freePort()), masterUrl]));
    }
    await waitFor(async () => (await aliveWorkers()) === workers, 60_000, () => `${workers} workers did not register: ${workerDaemons.map((d) => d.log.slice(-1000)).join('\n')}`);
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return {
    masterUrl,
    conf: ['spark.driver.host=127.0.0.1', 'spark.driver.bindAddress=127.0.0.1', 'spark.executor.memory=512m'],
    executors: () =>
      processesUnder(base).flatMap((pid) => {
        const args = readCmdline(pid);
        if (!args.includes('org.apache.spark.executor.CoarseGrainedExecutorBackend')) return [];
        return [{ pid, executorId: args[args.indexOf('--executor-id') + 1], appId: args[args.indexOf('--app-id') + 1] }];
      }),
    async killWorker(index) {
      const d = workerDaemons[index];
      const exited = new Promise((resolve) => d.child.once('exit', resolve));
      process.kill(d.child.pid!, 'SIGKILL');
      await exited;
    },
    aliveWorkers,
    stop,
  };
}

function readCmdline(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(what());
    await sleep(250);
  }
}
