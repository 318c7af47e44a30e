import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli';
import { processesUnder } from '../helpers/process-leaks';
import { isAlive } from '../../src/util/processes';

/**
 * `spark-sync demo` runs its broker in a process group of its own, which a terminal's Ctrl-C does
 * not reach. Stopped by Ctrl-C (SIGINT) or SIGTERM, the demo stops that broker and exits 3
 * (interrupted); nothing of it is left running. Before this, the broker outlived the demo.
 */
const cases = [
  { signal: 'SIGINT', when: 'while Spark writes the sample file', after: '2/6 writing a sample Parquet file with Spark', brokerReady: true },
  { signal: 'SIGTERM', when: 'while its broker is still starting', after: '1/6 starting a local Apache Kafka broker (KRaft)', brokerReady: false },
] as const;

for (const c of cases) {
  test(`demo: ${c.signal} ${c.when} stops the broker and exits 3; no process is left`, async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'spark-sync-demo-signal-'));
    const pidFile = path.join(home, 'demo', 'broker', 'broker.pid');
    let send: ((name: NodeJS.Signals) => void) | undefined;
    let brokerPid = 0;
    let aliveAtSignal = false;
    const signalOnceBrokerSpawned = () => {
      // The broker's JVM exists once its pid file does; with brokerReady, it answers clients too.
      const poll = setInterval(() => {
        if (!fs.existsSync(pidFile)) return;
        clearInterval(poll);
        brokerPid = Number(fs.readFileSync(pidFile, 'utf8'));
        aliveAtSignal = isAlive(brokerPid);
        send!(c.signal);
      }, 20);
    };
    const run = await runCli(['demo', '--rows', '20000'], { SPARK_SYNC_HOME: home }, {
      timeoutMs: 180_000,
      onStart: (_killGroup, signal) => (send = (name) => signal(name)),
      onLog: { msg: c.after, run: signalOnceBrokerSpawned },
    });
    assert.ok(brokerPid > 0 && aliveAtSignal, `the broker ran when the ${c.signal} came (pid ${brokerPid})`);
    // Before it was ready, the demo went no further than step 1.
    assert.equal(run.logs.some((l) => l.msg === '2/6 writing a sample Parquet file with Spark'), c.brokerReady, 'how far the demo went');
    assert.equal(run.signal, null, run.stderr.slice(-800));
    assert.equal(run.code, 3, run.stderr.slice(-800));
    assert.ok(run.logs.some((l) => l.msg === 'demo stopped on request: stopping its broker' && l.signal === c.signal), run.stderr.slice(-800));
    assert.equal(isAlive(brokerPid), false, `broker pid ${brokerPid} outlived the demo`);
    assert.deepEqual(processesUnder(home), [], 'no process of the demo is left');
    fs.rmSync(home, { recursive: true, force: true });
  });
}
