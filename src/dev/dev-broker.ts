import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { KafkaClientSettings, kafkaClientSettings } from '../config/kafka-client-config';
import { KAFKA_JARS_DIR } from '../config/paths';
import { SparkSyncError } from '../errors/spark-sync-error';
import { cachedJarPath, ensureFolders, jarSource, manifestJars, missingJars, incompleteCache } from '../install/jar-cache';
import type { Logger } from '../log/logger';
import { isAlive, signalGroup, sleep } from '../util/processes';
import { KafkaAdmin } from '../kafka/kafka-admin';

export interface DevBrokerOptions {
  /** Client port on 127.0.0.1; a free one when omitted. */
  port?: number;
  /** Holds the broker's config, logs and data; reused across starts. */
  dataDir: string;
  /** Keep running after this process exits (`spark-sync broker start`). */
  detached?: boolean;
  heapMb?: number;
  /** Extra broker settings (server.properties lines). */
  extraConfig?: Record<string, string>;
  /**
   * SASL/SCRAM-SHA-512 on the client listener (SASL_PLAINTEXT), with these users and passwords;
   * `brokerUser` is the one the broker itself and the readiness check log in as.
   */
  scram?: { users: Record<string, string>; brokerUser: string };
  /**
   * TLS on the client listener (SSL, or SASL_SSL with `scram`): the broker's PKCS12 key store
   * and its password, and the CA certificate (PEM) the readiness check trusts.
   */
  tls?: { keystore: string; password: string; caPem: string };
  /**
   * One node of a KRaft cluster instead of a single-node broker: its node id, its controller
   * port (fixed, since every node's voters name it), every controller as `id@host:port,…`, and
   * the cluster id all the nodes are formatted with ({@link newClusterId}). Replication settings
   * go in `extraConfig`. The test fixture's cluster (test/helpers/kafka-cluster-fixture.ts).
   */
  clusterNode?: { id: number; controllerPort: number; voters: string; clusterId: string };
  /** Where fetching an installed package's missing broker jars is reported (else plain lines on stderr). */
  log?: Logger;
}

/** A running single-node Apache Kafka broker (KRaft, combined broker + controller). */
export interface DevBroker {
  bootstrap: string;
  port: number;
  pid: number;
  dataDir: string;
  /** Stops the broker and waits until its process is gone. */
  stop(): Promise<void>;
}

const PID_FILE = 'broker.pid';
const READY_TIMEOUT_MS = 90_000;

/**
 * Starts a real Apache Kafka broker from jars/kafka in a child JVM on 127.0.0.1 and returns once
 * it answers metadata requests. For development, tests, the demo and the benchmark; production
 * brokers are the user's own.
 */
export async function startDevBroker(options: DevBrokerOptions): Promise<DevBroker> {
  // An installed package's first use: fetch the broker's jars if `npm install` could not.
  await ensureFolders(['kafka'], { log: options.log });
  const classpath = kafkaClasspath();
  const dataDir = path.resolve(options.dataDir);
  fs.mkdirSync(dataDir, { recursive: true });
  const running = readPid(dataDir);
  if (running !== undefined && isAlive(running)) {
    throw new SparkSyncError('USAGE', `a broker from ${dataDir} is already running (pid ${running})`, {
      hint: `stop it with: spark-sync broker stop --data-dir ${dataDir}`,
    });
  }
  const port = options.port ?? (await freePort());
  const node = options.clusterNode;
  const controllerPort = node?.controllerPort ?? (await freePort());
  const protocol = `${options.scram ? 'SASL_' : ''}${options.tls ? 'SSL' : 'PLAINTEXT'}`;
  const config = writeConfig(dataDir, port, controllerPort, protocol, {
    ...(options.scram ? scramConfig(protocol, options.scram) : {}),
    ...(options.tls ? tlsConfig(options.tls) : {}),
    ...(node ? { 'node.id': String(node.id), 'controller.quorum.voters': node.voters } : {}),
    ...options.extraConfig,
  });
  formatStorage(classpath, dataDir, config, options.scram?.users ?? {}, node?.clusterId);

  const out = fs.openSync(path.join(dataDir, 'broker.out'), 'a');
  const heap = options.heapMb ?? 512;
  const child = spawn(
    'java',
    [`-Xmx${heap}m`, `-Xms${Math.min(heap, 256)}m`, '-XX:+UseG1GC', '-Djava.awt.headless=true',
      `-Dlog4j.configuration=file:${path.join(dataDir, 'log4j.properties')}`,
      '-cp', classpath, 'kafka.Kafka', config],
    // Its own process group, so stop() and crash tests can signal the whole JVM.
    { detached: true, stdio: ['ignore', out, out] },
  );
  fs.closeSync(out);
  const pid = child.pid!;
  fs.writeFileSync(path.join(dataDir, PID_FILE), `${pid}\n`);
  const bootstrap = `127.0.0.1:${port}`;
  await waitUntilReady(child, bootstrap, dataDir, protocol === 'PLAINTEXT' ? undefined : clientOf(protocol, options));
  // Stopping goes by pid (signals, then polling), never by the child's exit event: once Spark's
  // JVM starts in this process, Java resets SIGCHLD and Node stops hearing about earlier
  // children, and a referenced handle would then keep the process (a notebook kernel) alive.
  child.unref();
  return { bootstrap, port, pid, dataDir, stop: () => stopBrokerProcess(pid, dataDir) };
}

/** Stops the broker started from `dataDir`; false when none was running. */
export async function stopDevBroker(dataDir: string): Promise<boolean> {
  const pid = readPid(path.resolve(dataDir));
  if (pid === undefined || !isAlive(pid)) {
    fs.rmSync(path.join(dataDir, PID_FILE), { force: true });
    return false;
  }
  await stopBrokerProcess(pid, path.resolve(dataDir));
  return true;
}

async function stopBrokerProcess(pid: number, dataDir: string): Promise<void> {
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + 20_000;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(pid)) signalGroup(pid, 'SIGKILL');
  while (isAlive(pid)) await sleep(50);
  fs.rmSync(path.join(dataDir, PID_FILE), { force: true });
}

/**
 * The Kafka jars (broker and tools) as one `-cp` value: jars/kafka in a git clone, the jar cache
 * in an installed package (see src/install/jar-cache.ts).
 */
export function kafkaClasspath(): string {
  if (jarSource('kafka') === 'cache') {
    const cached = manifestJars(['kafka']);
    const missing = missingJars(cached);
    if (missing.length > 0) throw incompleteCache(missing, cached.length);
    return cached.map((j) => cachedJarPath(j)).join(path.delimiter);
  }
  const jars = fs.existsSync(KAFKA_JARS_DIR) ? fs.readdirSync(KAFKA_JARS_DIR).filter((f) => f.endsWith('.jar')) : [];
  if (!jars.some((j) => j.startsWith('kafka_'))) {
    throw new SparkSyncError('INSTALL_INCOMPLETE', `the Kafka broker jars are missing from ${KAFKA_JARS_DIR}`, {
      hint: 'run `npm run build:jars` in the spark-sync folder',
    });
  }
  return jars.map((j) => path.join(KAFKA_JARS_DIR, j)).join(path.delimiter);
}

function writeConfig(dataDir: string, port: number, controllerPort: number, protocol: string, extra: Record<string, string>): string {
  const settings: Record<string, string> = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
    listeners: `${protocol}://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `${protocol}://127.0.0.1:${port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': protocol,
    'listener.security.protocol.map': `${protocol}:${protocol},CONTROLLER:PLAINTEXT`,
    'log.dirs': path.join(dataDir, 'data'),
    'num.partitions': '1',
    'num.network.threads': '2',
    'num.io.threads': '4',
    'offsets.topic.replication.factor': '1',
    'offsets.topic.num.partitions': '1',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    // The checkpoint topic's transactions: one coordinator partition, created at the first run in moments.
    'transaction.state.log.num.partitions': '1',
    'group.initial.rebalance.delay.ms': '0',
    'auto.create.topics.enable': 'false',
    'delete.topic.enable': 'true',
    ...extra,
  };
  const file = path.join(dataDir, 'server.properties');
  fs.writeFileSync(file, Object.entries(settings).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  fs.writeFileSync(
    path.join(dataDir, 'log4j.properties'),
    [
      'log4j.rootLogger=WARN, file',
      'log4j.appender.file=org.apache.log4j.RollingFileAppender',
      `log4j.appender.file.File=${path.join(dataDir, 'broker.log')}`,
      'log4j.appender.file.MaxFileSize=20MB',
      'log4j.appender.file.MaxBackupIndex=2',
      'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
      '',
    ].join('\n'),
  );
  return file;
}

/** SCRAM-SHA-512 only, on the client listener; the controller stays PLAINTEXT on loopback. */
function scramConfig(protocol: string, scram: NonNullable<DevBrokerOptions['scram']>): Record<string, string> {
  return {
    'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
    'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512',
    [`listener.name.${protocol.toLowerCase()}.scram-sha-512.sasl.jaas.config`]: scramJaas(scram.brokerUser, scram.users[scram.brokerUser]),
  };
}

/** The broker's key store, which also holds the CA it trusts (for its own inter-broker calls). */
function tlsConfig(tls: NonNullable<DevBrokerOptions['tls']>): Record<string, string> {
  return {
    'ssl.keystore.type': 'PKCS12',
    'ssl.keystore.location': tls.keystore,
    'ssl.keystore.password': tls.password,
    'ssl.key.password': tls.password,
    'ssl.truststore.type': 'PKCS12',
    'ssl.truststore.location': tls.keystore,
    'ssl.truststore.password': tls.password,
  };
}

function scramJaas(user: string, password: string): string {
  return `org.apache.kafka.common.security.scram.ScramLoginModule required username="${user}" password="${password}";`;
}

/** How the readiness check connects: as the broker's own user, trusting the test CA. */
function clientOf(protocol: string, options: DevBrokerOptions): KafkaClientSettings {
  return kafkaClientSettings({
    'security.protocol': protocol,
    ...(options.scram
      ? { 'sasl.mechanism': 'SCRAM-SHA-512', 'sasl.jaas.config': scramJaas(options.scram.brokerUser, options.scram.users[options.scram.brokerUser]) }
      : {}),
    ...(options.tls ? { 'ssl.truststore.type': 'PEM', 'ssl.truststore.location': options.tls.caPem } : {}),
  });
}

/**
 * KRaft needs its log directory formatted once with a cluster id; later starts reuse it. SCRAM
 * users are written into the metadata log here (KRaft has no ZooKeeper to add them to later).
 */
function formatStorage(classpath: string, dataDir: string, config: string, scramUsers: Record<string, string>, clusterId = newClusterId()): void {
  if (fs.existsSync(path.join(dataDir, 'data', 'meta.properties'))) return;
  const scram = Object.entries(scramUsers).flatMap(([name, password]) => ['--add-scram', `SCRAM-SHA-512=[name=${name},password=${password}]`]);
  const r = spawnSync('java', ['-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', config, '--ignore-formatted', ...scram], {
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    throw new SparkSyncError('INTERNAL', `formatting the broker's storage in ${dataDir} failed: ${(r.stderr || r.stdout || String(r.error)).trim().split('\n').pop()}`);
  }
}

/** A random KRaft cluster id (a Kafka Uuid: 16 bytes, base64url). */
export function newClusterId(): string {
  // A leading '-' would read as an option to StorageTool (Kafka's own Uuid avoids it the same way).
  let clusterId = randomBytes(16).toString('base64url');
  while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url');
  return clusterId;
}

async function waitUntilReady(child: ChildProcess, bootstrap: string, dataDir: string, client?: KafkaClientSettings): Promise<void> {
  let exited: number | null = null;
  child.once('exit', (code) => {
    exited = code ?? -1;
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited !== null) break;
    try {
      const admin = await KafkaAdmin.connect({ bootstrapServers: [bootstrap], connectTimeoutMs: 2_000, client });
      await admin.close();
      return;
    } catch {
      await sleep(300);
    }
  }
  if (exited === null) signalGroup(child.pid!, 'SIGKILL');
  const tail = [...lastLines(path.join(dataDir, 'broker.out'), () => true, 3), ...lastLines(path.join(dataDir, 'broker.log'), (l) => /\] (ERROR|FATAL) /.test(l), 1)].join(' | ');
  throw new SparkSyncError('KAFKA_UNAVAILABLE', `the development broker did not come up on ${bootstrap}${exited !== null ? ` (exited with ${exited})` : ''}: ${tail || 'no output'}`, {
    hint: `see ${path.join(dataDir, 'broker.log')}`,
  });
}

/** The last `n` lines of a file that pass `keep` (none if the file is missing). */
function lastLines(file: string, keep: (line: string) => boolean, n: number): string[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').trim().split('\n').filter(keep).slice(-n);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function readPid(dataDir: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(path.join(dataDir, PID_FILE), 'utf8'), 10);
    return Number.isFinite(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}



