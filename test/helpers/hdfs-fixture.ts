import assert from 'node:assert/strict';
import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { PACKAGE_ROOT } from '../../src/config/paths';
import { isAlive } from '../../src/util/processes';

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

/**
 * A real HDFS (Hadoop's MiniDFSCluster, spark-jobs/hdfs-fixture) in a child JVM, with its
 * storage in a temp folder and its namenode on a free port. `stop` fails the test if the JVM
 * outlives it.
 */
export async function startMiniHdfs(datanodes: number): Promise<MiniHdfs> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'spark-sync-hdfs-'));
  const child: ChildProcessWithoutNullStreams = spawn('java', ['-Xmx512m', '-cp', `${HDFS_JARS}/*`, 'io.sparksync.devservices.MiniHdfs', base, String(datanodes)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
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
  const ready = await nextLine('start-up', 120_000);
  assert.match(ready, /^ready hdfs:\/\//, ready);
  const command = async (cmd: string) => {
    const answer = nextLine(cmd, 60_000);
    child.stdin.write(cmd + '\n');
    const line = await answer;
    if (line !== 'ok') throw new Error(`MiniHdfs ${cmd}: ${line}`);
  };
  return {
    uri: ready.slice('ready '.length),
    put: (local, hdfsPath, replication) => command(`put ${local} ${hdfsPath} ${replication} 262144`),
    stopDatanode: (index) => command(`stop-datanode ${index}`),
    async stop() {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.stdin.end('quit\n');
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      await exited;
      clearTimeout(timer);
      assert.equal(isAlive(child.pid!), false, `MiniHdfs pid ${child.pid} still running after stop`);
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}
