import assert from 'node:assert/strict';
import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { PACKAGE_ROOT } from '../../src/config/paths';
import { isAlive, sleep } from '../../src/util/processes';
import { processesUnder } from './process-leaks';

const HDFS_JARS = path.join(PACKAGE_ROOT, 'jars', 'hdfs');

export interface MiniHdfs {
  /** `hdfs://127.0.0.1:<port>` */
  uri: string;
  /** Copies a local file into HDFS with the given replication, in 256 KiB blocks. */
  put(local: string, hdfsPath: string, replication: number): Promise<void>;
  /** Stops datanode `index`, as a failing machine would. */
  stopDatanode(index: number): Promise<void>;
  stop(): Promise<void>;
}

export interface MiniHadoop extends MiniHdfs {
  /**
   * HADOOP_CONF_DIR / YARN_CONF_DIR for clients: core-site.xml, hdfs-site.xml and yarn-site.xml,
   * each with the whole configuration (`fs.defaultFS` this HDFS, the ResourceManager on
   * 127.0.0.1).
   */
  confDir: string;
  /**
   * The NodeManagers' log folders, one per NodeManager: each container logs to
   * `<log dir>/<application id>/<container id>/{stdout,stderr,launch_container.sh,...}`. Read
   * them before `stop`, which deletes them.
   */
  logDirs: string[];
}

/**
 * A real HDFS (Hadoop's MiniDFSCluster, spark-jobs/hdfs-fixture) in a child JVM, with its
 * storage in a temp folder and its namenode on a free port. `stop` fails the test if the JVM
 * outlives it.
 */
export async function startMiniHdfs(datanodes: number): Promise<MiniHdfs> {
  return (await start(datanodes, 0)).hdfs;
}

/**
 * A real HDFS and a real YARN on it (one ResourceManager, `nodeManagers` NodeManagers of
 * 3 GB and 4 vcores each) in one child JVM, everything on 127.0.0.1; ready once every
 * NodeManager runs. YARN containers are processes of their own, working under the cluster's
 * temp folder: `stop` fails the test if any outlives the cluster (after killing it).
 */
export async function startMiniHadoop(options: { datanodes: number; nodeManagers: number }): Promise<MiniHadoop> {
  assert.ok(options.nodeManagers > 0, 'startMiniHadoop needs at least one NodeManager');
  const { hdfs, base, confDir } = await start(options.datanodes, options.nodeManagers);
  const yarnDir = path.join(base, 'yarn');
  // MiniYARNCluster works in yarn/yarn-<start time>/, where NodeManager i logs to yarn-logDir-nm-<i>_0.
  const logDirs = fs.readdirSync(yarnDir).flatMap((run) =>
    fs
      .readdirSync(path.join(yarnDir, run))
      .filter((d) => d.includes('-logDir-nm-'))
      .sort()
      .map((d) => path.join(yarnDir, run, d)),
  );
  return { ...hdfs, confDir: confDir!, logDirs };
}

async function start(datanodes: number, nodeManagers: number): Promise<{ hdfs: MiniHdfs; base: string; confDir?: string }> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'spark-sync-hdfs-'));
  fs.mkdirSync(path.join(base, 'tmp'));
  const child: ChildProcessWithoutNullStreams = spawn(
    'java',
    [
      '-Xmx512m',
      // The ResourceManager's and NodeManagers' web apps (Guice 4) define classes reflectively.
      '--add-opens=java.base/java.lang=ALL-UNNAMED',
      // Jetty unpacks its web apps into the temp folder: keep that inside the cluster's.
      `-Djava.io.tmpdir=${path.join(base, 'tmp')}`,
      '-cp',
      `${HDFS_JARS}/*`,
      'io.sparksync.devservices.MiniHdfs',
      base,
      String(datanodes),
      String(nodeManagers),
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-20_000);
  });
  const lines = readline.createInterface({ input: child.stdout });
  const pending: Array<(line: string) => void> = [];
  lines.on('line', (line) => pending.shift()?.(line));
  const nextLine = (what: string, timeoutMs: number) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`MiniHdfs: no answer to ${what} in ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`)), timeoutMs);
      pending.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
      child.once('exit', (code) => reject(new Error(`MiniHdfs exited (${code}) during ${what}; stderr: ${stderr.slice(-2000)}`)));
    });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const running = () => child.exitCode === null && child.signalCode === null;
  /** Ends the JVM (`quit`, or SIGKILL after `timeoutMs`), then fails if anything of the cluster is left. */
  const shutdown = async (timeoutMs: number) => {
    if (running()) {
      child.stdin.end('quit\n');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    }
    assert.equal(isAlive(child.pid!), false, `MiniHdfs pid ${child.pid} still running after stop`);
    const leaked = await killLeftovers(base);
    fs.rmSync(base, { recursive: true, force: true });
    assert.deepEqual(leaked, [], `processes of the MiniHdfs cluster in ${base} outlived it (now SIGKILLed)`);
  };
  let ready: RegExpExecArray | null;
  try {
    const line = await nextLine('start-up', 180_000);
    // `ready hdfs://127.0.0.1:<port>`, with ` conf=<folder>` appended when YARN runs too.
    ready = /^ready (hdfs:\/\/\S+)(?: conf=(.+))?$/.exec(line);
    assert.ok(ready && (nodeManagers === 0) === (ready[2] === undefined), `MiniHdfs start-up: ${line}`);
  } catch (err) {
    await shutdown(0).catch(() => undefined);
    throw err;
  }
  const command = async (cmd: string) => {
    const answer = nextLine(cmd, 60_000);
    child.stdin.write(cmd + '\n');
    const line = await answer;
    if (line !== 'ok') throw new Error(`MiniHdfs ${cmd}: ${line}`);
  };
  const hdfs: MiniHdfs = {
    uri: ready[1],
    put: (local, hdfsPath, replication) => command(`put ${local} ${hdfsPath} ${replication} 262144`),
    stopDatanode: (index) => command(`stop-datanode ${index}`),
    // A NodeManager waits for its containers to die, and up to 10 s for its log cleaner.
    stop: () => shutdown(90_000),
  };
  return { hdfs, base, confDir: ready[2] };
}

/**
 * The processes still working under `base` once the JVM is gone (YARN containers the
 * NodeManagers failed to stop), as lines for a failure message: each gets a 5 s grace, then
 * SIGKILL, so that the next test starts clean even though this one fails.
 */
async function killLeftovers(base: string): Promise<string[]> {
  let pids = processesUnder(base);
  for (let i = 0; pids.length > 0 && i < 20; i++) {
    await sleep(250);
    pids = processesUnder(base);
  }
  const described = pids.map((pid) => {
    try {
      return `pid ${pid}: ${fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim().slice(0, 300)}`;
    } catch {
      return `pid ${pid}`;
    }
  });
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* exited meanwhile */
    }
  }
  for (let i = 0; processesUnder(base).length > 0 && i < 20; i++) await sleep(250);
  return described;
}
