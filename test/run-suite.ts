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
 * (driver-class-archive.ts), built once per classpath and JDK before the tests start; the one
 * file that rebuilds jars/ runs after all the others (rebuildsTheTree).
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
  const env = { ...process.env, SPARK_SYNC_TEST_BROKER: broker.bootstrap, SPARK_SYNC_TEST_BROKER_PID: String(broker.pid) };
  const phases = [files.filter((f) => !rebuildsTheTree(f)), files.filter(rebuildsTheTree)].filter((p) => p.length > 0);
  // With two phases the slowest-tests reporter carries the first one's figures into the second's summary.
  const carry = path.join(dataDir, 'slowest-tests.json');
  let child: ReturnType<typeof spawn> | undefined;
  const forward = (signal: NodeJS.Signals) => child?.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    let status = 0;
    for (const [i, phase] of phases.entries()) {
      const phaseEnv = phases.length > 1 ? { ...env, SPARK_SYNC_SLOWEST_TESTS_CARRY: carry, SPARK_SYNC_SLOWEST_TESTS_LAST: i === phases.length - 1 ? '1' : '0' } : env;
      const code = await new Promise<number>((resolve) => {
        child = spawn(process.execPath, ['--test', ...options, ...phase], { stdio: 'inherit', env: phaseEnv });
        child.on('close', (exit, signal) => resolve(exit ?? (signal ? 1 : 0)));
      });
      status = status || code;
    }
    return status;
  } finally {
    await broker.stop();
    if (isAlive(broker.pid)) {
      process.stderr.write(`# the shared broker (pid ${broker.pid}) outlived its stop\n`);
      process.exitCode = 1;
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * package-install packs this checkout (`npm pack` runs prepack, a full build), which recreates
 * every jar in jars/. A JVM refuses a class archive whose jars' sizes or times changed, so every
 * driver after that build ran without it (submit.integration: 117 s with, 154 s without). Such
 * files run in a second `node --test`, after the rest: the runner sorts the files it is given, so
 * their order on the command line would not do.
 */
function rebuildsTheTree(file: string): boolean {
  return /package-install\.integration\.test\.js$/.test(file);
}

main().then(
  (code) => process.exit(process.exitCode || code),
  (err: unknown) => {
    process.stderr.write(`test run failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
