/**
 * `npm run test:node`: the node tests, with one real Kafka broker shared by every test file that
 * needs no broker of its own (TLS, SASL, ACLs and the cluster tests start theirs), instead of a
 * broker started and stopped per file. Test files keep to their own topics (uniqueTopic), so
 * sharing is safe; the broker is stopped at the end and must leave no process behind.
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
 * (driver-class-archive.ts), built once per classpath and JDK before the tests start.
 *
 * Usage: node dist/test/run-suite.js [node --test options…] -- <test files…>
 * The ten slowest tests and each file's time are printed at the end (scripts/slowest-tests.mjs).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDevBroker } from '../src/dev';
import { isAlive } from '../src/util/processes';
import { driverClassArchiveOptions } from './driver-class-archive';

const C1_ONLY = '-XX:TieredStopAtLevel=1';

async function main(): Promise<number> {
  process.env.JDK_JAVA_OPTIONS ??= C1_ONLY;
  if (process.env.SPARK_SYNC_DRIVER_JAVA_OPTIONS === undefined) {
    const archive = driverClassArchiveOptions(C1_ONLY, (line) => process.stderr.write(`${line}\n`));
    process.env.SPARK_SYNC_DRIVER_JAVA_OPTIONS = [C1_ONLY, ...archive].join(' ');
  }
  const argv = process.argv.slice(2);
  const split = argv.indexOf('--');
  const options = split < 0 ? [] : argv.slice(0, split);
  const files = split < 0 ? argv : argv.slice(split + 1);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'spark-sync-shared-broker-'));
  const started = Date.now();
  const broker = await startDevBroker({ dataDir });
  process.stderr.write(`# shared broker ${broker.bootstrap} (pid ${broker.pid}) up in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  try {
    return await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['--test', ...options, ...files], {
        stdio: 'inherit',
        env: { ...process.env, SPARK_SYNC_TEST_BROKER: broker.bootstrap, SPARK_SYNC_TEST_BROKER_PID: String(broker.pid) },
      });
      const forward = (signal: NodeJS.Signals) => child.kill(signal);
      process.on('SIGINT', forward);
      process.on('SIGTERM', forward);
      child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    });
  } finally {
    await broker.stop();
    if (isAlive(broker.pid)) {
      process.stderr.write(`# the shared broker (pid ${broker.pid}) outlived its stop\n`);
      process.exitCode = 1;
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(process.exitCode || code),
  (err: unknown) => {
    process.stderr.write(`test run failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
