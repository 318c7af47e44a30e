import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Admin, Kafka, logLevel } from 'kafkajs';
import { DevBroker, freePort, kafkaClasspath, newClusterId, startDevBroker } from '../../src/dev/dev-broker';
import { isAlive, signalGroup, sleep } from '../../src/util/processes';
import { processesUnder } from './process-leaks';

export interface KafkaClusterOptions {
  /** The nodes' folders go here, one `node-<id>` each (config, logs, data). */
  dir: string;
  /** How many nodes (default 3); each is a broker and a KRaft controller, all of them voters. */
  nodes?: number;
  /** Each node's JVM heap (default 256 MB). */
  heapMb?: number;
  /** Extra server.properties settings for every node, over the fixture's. */
  extraConfig?: Record<string, string>;
}

export interface KafkaClusterNode {
  /** Kafka's node.id: 1, 2, 3… */
  readonly id: number;
  /** The client listener on 127.0.0.1. */
  readonly port: number;
  readonly controllerPort: number;
  /** The node's JVM now (a restart changes it); its own process group. */
  readonly pid: number;
  /** Whether the node's JVM is running. */
  readonly alive: boolean;
  readonly dataDir: string;
}

export interface PartitionState {
  partition: number;
  /** The leader's node id; -1 when the partition has none. */
  leader: number;
  replicas: number[];
  isr: number[];
}

export interface KafkaCluster {
  /** Every node's `127.0.0.1:port`, comma-separated (a `--bootstrap-server` value). */
  readonly bootstrap: string;
  /** The same, as a list (kafkajs's `brokers`). */
  readonly brokers: string[];
  readonly nodes: readonly KafkaClusterNode[];
  node(id: number): KafkaClusterNode;
  /** The partitions of a topic as a live node's metadata has them. */
  partitions(topic: string): Promise<PartitionState[]>;
  /** The leader (node id) of one partition, as a live node's metadata has it; -1 when none. */
  leaderOf(topic: string, partition: number): Promise<number>;
  /**
   * Waits until the partition's leader is a live node other than `from` (after `from` was
   * killed: the controller fences it after broker.session.timeout.ms and elects another from the
   * ISR). Resolves to the new leader.
   */
  waitForNewLeader(topic: string, partition: number, from: number, timeoutMs?: number): Promise<number>;
  /**
   * Signals the node's process group and waits until its JVM is gone. SIGKILL (the default) is a
   * machine failing; SIGTERM a controlled shutdown, SIGKILLed after `graceMs` if still running.
   */
  kill(id: number, signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
  /**
   * Starts a killed node again with the same config and data dir, and waits until it answers
   * (caught up with the metadata log, unfenced) and every live node's metadata lists it; with
   * `topics`, also until it is back in the ISR of every partition of them that it replicates.
   */
  restart(id: number, options?: { topics?: string[]; timeoutMs?: number }): Promise<void>;
  /** Waits until every partition of the topics has its full replica set in the ISR. */
  waitForFullIsr(topics: string[], timeoutMs?: number): Promise<void>;
  /**
   * Caps every producer's writes at `bytesPerSecond` per broker (Kafka's default client quota,
   * `producer_byte_rate`, set with Kafka's own ConfigCommand); `undefined` lifts it. The brokers
   * slow a producer down by delaying its requests, so a test can keep a write going long enough
   * for its failures to land mid-run.
   */
  setProducerQuota(bytesPerSecond: number | undefined): void;
  /** A kafkajs admin on the live nodes, disconnected after `work`. */
  withAdmin<T>(work: (admin: Admin) => Promise<T>): Promise<T>;
  /**
   * SIGKILLs every node, removes their data (their logs stay in `dir`), and throws if any process
   * under `dir` is left.
   */
  stop(): Promise<void>;
}

/**
 * A real Apache Kafka cluster on loopback for tests of broker failures: `nodes` KRaft nodes, each
 * a combined broker and controller started by the development broker's code (src/dev/dev-broker.ts)
 * in its own process group, all formatted with one cluster id and all voters. Replication is
 * production-like (replication factor 3 by default, min.insync.replicas 2, no unclean leader
 * election), and failure detection is short, so that a killed leader is replaced within a few
 * seconds: the controller fences a broker 3 s after its last heartbeat, and a controller quorum
 * re-elects its leader within about 2 s.
 */
export async function startKafkaCluster(options: KafkaClusterOptions): Promise<KafkaCluster> {
  const count = options.nodes ?? 3;
  const dir = path.resolve(options.dir);
  const ports = await distinctFreePorts(2 * count);
  const clusterId = newClusterId();
  const specs = Array.from({ length: count }, (_, i) => ({
    id: i + 1,
    port: ports[2 * i],
    controllerPort: ports[2 * i + 1],
    dataDir: path.join(dir, `node-${i + 1}`),
  }));
  const voters = specs.map((s) => `${s.id}@127.0.0.1:${s.controllerPort}`).join(',');
  const rf = Math.min(count, 3);
  const minIsr = count >= 3 ? 2 : 1;
  const extraConfig: Record<string, string> = {
    'default.replication.factor': String(rf),
    'min.insync.replicas': String(minIsr),
    'offsets.topic.replication.factor': String(rf),
    'transaction.state.log.replication.factor': String(rf),
    'transaction.state.log.min.isr': String(minIsr),
    'transaction.state.log.num.partitions': '1',
    'unclean.leader.election.enable': 'false',
    // Leaders change only when a test kills one: no preferred-leader rebalancing behind its back.
    'auto.leader.rebalance.enable': 'false',
    // Failure detection in seconds, not Kafka's production defaults (9 s session; 2 s fetch).
    'broker.session.timeout.ms': '3000',
    'broker.heartbeat.interval.ms': '500',
    'controller.quorum.election.timeout.ms': '500',
    'controller.quorum.fetch.timeout.ms': '1500',
    'controller.quorum.election.backoff.max.ms': '500',
    'num.replica.fetchers': '1',
    ...options.extraConfig,
  };

  const nodes = specs.map((s) => ({ ...s, broker: undefined as DevBroker | undefined }));
  const start = (n: (typeof nodes)[number]) =>
    startDevBroker({
      dataDir: n.dataDir,
      port: n.port,
      heapMb: options.heapMb ?? 256,
      clusterNode: { id: n.id, controllerPort: n.controllerPort, voters, clusterId },
      extraConfig,
    }).then((b) => {
      n.broker = b;
    });

  // A test process that dies without stop() must not leave JVMs behind.
  const killAll = () => {
    for (const n of nodes) if (n.broker) signalGroup(n.broker.pid, 'SIGKILL');
  };
  process.once('exit', killAll);

  const live = () => nodes.filter((n) => n.broker !== undefined && isAlive(n.broker.pid));
  const byId = (id: number) => {
    const n = nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id} in a cluster of ${count}`);
    return n;
  };

  const withAdmin = async <T>(work: (admin: Admin) => Promise<T>): Promise<T> => {
    const brokers = live().map((n) => `127.0.0.1:${n.port}`);
    if (brokers.length === 0) throw new Error('no node of the cluster is running');
    const admin = new Kafka({
      clientId: 'kafka-cluster-fixture',
      brokers,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 2_000,
      requestTimeout: 10_000,
      retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1_000 },
    }).admin();
    await admin.connect();
    try {
      return await work(admin);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  };

  const partitions = (topic: string): Promise<PartitionState[]> =>
    withAdmin(async (admin) => {
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      return meta.topics[0].partitions
        .map((p) => ({ partition: p.partitionId, leader: p.leader, replicas: [...p.replicas].sort((a, b) => a - b), isr: [...p.isr].sort((a, b) => a - b) }))
        .sort((a, b) => a.partition - b.partition);
    });

  /** Polls `check` (errors count as "not yet": nodes come and go) until it holds. */
  const until = async (what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      try {
        if (await check()) return;
      } catch (err) {
        last = `: ${(err as Error).message}`;
      }
      if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs / 1000} s${last}`);
      await sleep(250);
    }
  };

  /** Waits until every live node's metadata lists the nodes `ids` as brokers (registered, unfenced). */
  const registered = (ids: number[], timeoutMs: number) =>
    until(`node(s) ${ids.join(', ')} registered with the cluster`, timeoutMs, async () => {
      for (const other of live()) {
        const kafka = new Kafka({ clientId: 'kafka-cluster-fixture', brokers: [`127.0.0.1:${other.port}`], logLevel: logLevel.NOTHING, connectionTimeout: 2_000, retry: { retries: 0 } });
        const admin = kafka.admin();
        await admin.connect();
        try {
          const listed = (await admin.describeCluster()).brokers.map((b) => b.nodeId);
          if (!ids.every((id) => listed.includes(id))) return false;
        } finally {
          await admin.disconnect().catch(() => undefined);
        }
      }
      return true;
    });

  const waitForFullIsr = (topics: string[], timeoutMs = 120_000) =>
    until(`every replica of ${topics.join(', ')} in the ISR`, timeoutMs, async () => {
      for (const topic of topics) {
        for (const p of await partitions(topic)) if (p.leader < 0 || p.isr.length < p.replicas.length) return false;
      }
      return true;
    });

  const cluster: KafkaCluster = {
    bootstrap: specs.map((s) => `127.0.0.1:${s.port}`).join(','),
    brokers: specs.map((s) => `127.0.0.1:${s.port}`),
    nodes: nodes.map((n) => ({
      id: n.id,
      port: n.port,
      controllerPort: n.controllerPort,
      dataDir: n.dataDir,
      get pid() {
        return n.broker?.pid ?? -1;
      },
      get alive() {
        return n.broker !== undefined && isAlive(n.broker.pid);
      },
    })),
    node(id) {
      const n = cluster.nodes.find((x) => x.id === id);
      if (!n) throw new Error(`no node ${id} in a cluster of ${count}`);
      return n;
    },
    partitions,
    async leaderOf(topic, partition) {
      const p = (await partitions(topic)).find((x) => x.partition === partition);
      if (!p) throw new Error(`${topic} has no partition ${partition}`);
      return p.leader;
    },
    async waitForNewLeader(topic, partition, from, timeoutMs = 60_000) {
      let leader = -1;
      await until(`a new leader of ${topic}-${partition} (was node ${from})`, timeoutMs, async () => {
        leader = await cluster.leaderOf(topic, partition);
        return leader >= 0 && leader !== from && isAlive(byId(leader).broker?.pid ?? -1);
      });
      return leader;
    },
    async kill(id, signal = 'SIGKILL', graceMs = 30_000) {
      const n = byId(id);
      const pid = n.broker?.pid;
      if (pid === undefined || !isAlive(pid)) throw new Error(`node ${id} is not running`);
      signalGroup(pid, signal);
      const deadline = Date.now() + (signal === 'SIGKILL' ? 0 : graceMs);
      while (isAlive(pid) && Date.now() < deadline) await sleep(100);
      if (isAlive(pid)) signalGroup(pid, 'SIGKILL');
      while (isAlive(pid)) await sleep(50);
    },
    async restart(id, { topics = [], timeoutMs = 120_000 } = {}) {
      const n = byId(id);
      if (n.broker && isAlive(n.broker.pid)) throw new Error(`node ${id} is still running (pid ${n.broker.pid})`);
      // A node restarted right after a kill has once exited at start on a busy machine (its
      // error is in broker.log, which the message now quotes): start it again, up to three times.
      for (let attempt = 1; ; attempt++) {
        try {
          await start(n);
          break;
        } catch (err) {
          if (attempt === 3 || !/exited with/.test((err as Error).message)) throw err;
          process.stderr.write(`# node ${id} exited while restarting (attempt ${attempt}): ${(err as Error).message}\n`);
          await sleep(2_000);
        }
      }
      await registered([id], timeoutMs);
      if (topics.length > 0) {
        await until(`node ${id} back in the ISR of ${topics.join(', ')}`, timeoutMs, async () => {
          for (const topic of topics) {
            for (const p of await partitions(topic)) if (p.replicas.includes(id) && !p.isr.includes(id)) return false;
          }
          return true;
        });
      }
    },
    waitForFullIsr,
    setProducerQuota(bytesPerSecond) {
      const change = bytesPerSecond === undefined ? ['--delete-config', 'producer_byte_rate'] : ['--add-config', `producer_byte_rate=${Math.round(bytesPerSecond)}`];
      const bootstrap = live().map((n) => `127.0.0.1:${n.port}`).join(',');
      const r = spawnSync('java', ['-Xmx128m', '-cp', kafkaClasspath(), 'kafka.admin.ConfigCommand', '--bootstrap-server', bootstrap, '--alter', '--entity-type', 'clients', '--entity-default', ...change], { encoding: 'utf8', timeout: 60_000 });
      if (r.status !== 0) throw new Error(`setting the producer quota failed: ${(r.stderr || r.stdout || String(r.error)).trim().split('\n').slice(-3).join(' | ')}`);
    },
    withAdmin,
    async stop() {
      process.off('exit', killAll);
      // SIGKILL, not a controlled shutdown: nodes stopping one by one lose their controller
      // quorum, and a node without one waits minutes before it exits. The data goes anyway.
      killAll();
      for (const n of nodes) if (n.broker) while (isAlive(n.broker.pid)) await sleep(50);
      for (const n of nodes) {
        fs.rmSync(path.join(n.dataDir, 'data'), { recursive: true, force: true });
        fs.rmSync(path.join(n.dataDir, 'broker.pid'), { force: true });
      }
      // Proof that nothing outlives the cluster: no process runs in, or names, its folder.
      let left = processesUnder(dir);
      const deadline = Date.now() + 5_000;
      while (left.length > 0 && Date.now() < deadline) {
        await sleep(100);
        left = processesUnder(dir);
      }
      if (left.length > 0) throw new Error(`processes still running under ${dir} after stop: ${left.join(', ')}`);
    },
  };

  // All at once: a node answers only once a quorum of controllers is up.
  const started = await Promise.allSettled(nodes.map(start));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  try {
    if (failed) throw failed.reason;
    // Each node answered; now each one's metadata lists all of them.
    await registered(specs.map((s) => s.id), 60_000);
  } catch (err) {
    await cluster.stop().catch(() => undefined);
    throw err;
  }
  return cluster;
}

/**
 * `n` free loopback ports, no two alike, below the ephemeral range when it leaves room: a killed
 * node restarts on its old ports, and an ephemeral port may meanwhile become the local end of
 * some client's connection (Spark's, a test's).
 */
async function distinctFreePorts(n: number): Promise<number[]> {
  let low = 32_768;
  try {
    low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || low;
  } catch {
    /* not Linux: the default range */
  }
  const ports = new Set<number>();
  for (let tries = 0; ports.size < n && low > 11_000 && tries < 1_000; tries++) {
    const port = 10_000 + Math.floor(Math.random() * (low - 10_000));
    if (!ports.has(port) && (await canListen(port))) ports.add(port);
  }
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

