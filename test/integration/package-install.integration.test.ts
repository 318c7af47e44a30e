import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { JarManifest } from '../../src/install/jar-cache';
import { jarFileName, repositoryPath } from '../../src/install/jar-cache';
import { tempDir } from '../helpers/broker-fixture';

// Issue 16: the package as a user gets it. `npm pack`, in a copy of the checkout's sources, builds
// the job jar and jars/manifest.json (prepack); the tarball goes into an empty project with `npm install`, whose postinstall fetches
// the Spark, Hadoop and Kafka jars into a private SPARK_SYNC_HOME; then the CLI's demo and a
// library script sync for real. The jars come from this machine's Maven cache through
// SPARK_SYNC_MAVEN_REPO=file://… (the same layout as Maven Central), never from this
// repository's jars/; npm uses its own cache for the package's dependencies.
const REPO = path.resolve(__dirname, '..', '..', '..');
const MAVEN_CACHE = pathToFileURL(path.join(os.homedir(), '.m2', 'repository')).toString();

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
  /** stdout's last line, parsed. */
  summary: Record<string, unknown>;
}

/** The environment of a user's shell: none of the npm_* variables of a surrounding `npm test`. */
function userEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'INIT_CWD' && k !== 'SPARK_HOME' && !k.startsWith('SPARK_SYNC_')));
  return { ...env, SPARK_LOCAL_IP: '127.0.0.1', ...extra };
}

function run(cmd: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, options.timeoutMs ?? 600_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      let summary: Record<string, unknown> = {};
      try {
        summary = JSON.parse(stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>;
      } catch {
        /* none */
      }
      resolve({ code, stdout, stderr, seconds: (Date.now() - started) / 1000, summary });
    });
  });
}

/**
 * A copy of this checkout's sources to pack, as a fresh clone would have them: prepack's build
 * then writes its own dist/ and jars/, and this checkout's (which test files running beside this
 * one are using) stay as they are. node_modules and Spark's unpacked distribution (jars/spark-dist,
 * which the build only reads) are linked, not copied.
 */
function checkoutCopy(dir: string): string {
  const skip = new Set(['node_modules', 'dist', 'jars', '.git', '.cache', 'target']);
  fs.cpSync(REPO, dir, { recursive: true, filter: (src) => !skip.has(path.basename(src)) || src === REPO });
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
  fs.mkdirSync(path.join(dir, 'jars'));
  fs.copyFileSync(path.join(REPO, 'jars', 'README.md'), path.join(dir, 'jars', 'README.md'));
  fs.symlinkSync(path.join(REPO, 'jars', 'spark-dist'), path.join(dir, 'jars', 'spark-dist'));
  return dir;
}

/**
 * sqlite3's native binding as its installer (prebuild-install) looks for a downloaded prebuilt
 * one, made from the binding this checkout's `npm install` built. A user's install downloads that
 * file from the sqlite3 project's GitHub releases; this machine cannot reach GitHub, so without it
 * every run would compile SQLite from source (about a minute of CPU) and test the C compiler, not
 * spark-sync. prebuild-install's own `npm_config_sqlite3_local_prebuilds` points it here.
 */
function sqlitePrebuilds(dir: string): string {
  const sqlite = path.join(REPO, 'node_modules', 'sqlite3');
  const pkg = JSON.parse(fs.readFileSync(path.join(sqlite, 'package.json'), 'utf8')) as { version: string; binary: { napi_versions: number[] } };
  fs.mkdirSync(dir);
  const first = path.join(dir, 'binding.tar.gz');
  const tar = spawnSync('tar', ['-czf', first, '-C', sqlite, 'build/Release/node_sqlite3.node'], { encoding: 'utf8' });
  assert.equal(tar.status, 0, `packing sqlite3's binding: ${tar.stderr}`);
  // Named as prebuild-install names a release asset, once per N-API version the package lists.
  for (const napi of pkg.binary.napi_versions) {
    fs.copyFileSync(first, path.join(dir, `sqlite3-v${pkg.version}-napi-v${napi}-${process.platform}-${process.arch}.tar.gz`));
  }
  fs.rmSync(first);
  return dir;
}

/** Every .jar under a folder, relative, and whether any temporary download is left. */
function cacheFiles(home: string): { jars: string[]; parts: string[] } {
  const dir = path.join(home, 'jars');
  const all = fs.existsSync(dir) ? (fs.readdirSync(dir, { recursive: true }) as string[]) : [];
  return { jars: all.filter((f) => f.endsWith('.jar')).sort(), parts: all.filter((f) => f.endsWith('.part')) };
}

// The library as a project uses it, as an ES module: `import { SparkSync } from 'spark-sync'`.
const LIBRARY_SCRIPT = `
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { SparkSync } from 'spark-sync';
import { startDevBroker } from 'spark-sync/dev';

const dir = process.argv[2];
const rows = 7000;
const topic = 'installed-library';
const file = path.join(dir, 'sample.parquet');
const checkpoint = path.join(dir, 'checkpoint.db');
const broker = await startDevBroker({ dataDir: path.join(dir, 'broker') });
const sync = await SparkSync.open({ master: 'local[2]' });
try {
  await sync.writeSample(file, { rows });
  const result = await sync.submit({ source: file, topic, bootstrapServer: broker.bootstrap, createTopic: true, partitions: 2, batchSize: 3000, checkpoint });
  const audit = await sync.verify({ topic, bootstrapServer: broker.bootstrap, checkpoint });
  const admin = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const messages = offsets.reduce((a, p) => a + Number(p.high), 0);
  console.log(JSON.stringify({ rows, sent: result.recordsSent, messages, ok: audit.ok, missing: audit.files[0].missing, duplicated: audit.files[0].duplicated }));
} finally {
  await sync.close();
  await broker.stop();
}
`;

test('a packed spark-sync installs into an empty project with Java and Node only, fetches its jars, and syncs through the CLI and the library', { timeout: 1_800_000 }, async (t) => {
  const work = tempDir('spark-sync-package-');
  const timings: Record<string, number> = {};
  try {
    // 1. npm pack: prepack builds the job jar and writes the manifest.
    const packDir = path.join(work, 'pack');
    fs.mkdirSync(packDir);
    const pack = await run('npm', ['pack', '--pack-destination', packDir], { cwd: checkoutCopy(path.join(work, 'checkout')), env: userEnv({}) });
    assert.equal(pack.code, 0, pack.stderr.slice(-3000));
    timings.pack = pack.seconds;
    const tarball = path.join(packDir, fs.readdirSync(packDir).find((f) => f.endsWith('.tgz'))!);
    const size = fs.statSync(tarball).size;
    t.diagnostic(`tarball ${path.basename(tarball)}: ${size} bytes`);
    assert.ok(size < 1_000_000, `the tarball carries no Spark or Kafka jar: ${size} bytes`);
    const entries = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    assert.deepEqual(entries.filter((e) => e.endsWith('.jar')), ['package/jars/spark/spark-sync-jobs.jar'], 'the job jar is the only jar inside');
    for (const needed of ['package/jars/manifest.json', 'package/jars/spark/ship-to-executors.txt', 'package/dist/src/index.js', 'package/dev.js', 'package/bin/spark-sync.js', 'package/scripts/postinstall.js']) {
      assert.ok(entries.includes(needed), `${needed} is in the tarball`);
    }
    assert.equal(entries.filter((e) => e.startsWith('package/spark-jobs/') || e.endsWith('pom.xml')).length, 0, 'no Maven build inside');

    // 2. npm install <tarball> in an empty project: postinstall fills a private SPARK_SYNC_HOME.
    const project = path.join(work, 'project');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'uses-spark-sync', version: '1.0.0', private: true, type: 'module' }));
    const homeA = path.join(work, 'home-a');
    const install = await run('npm', ['install', '--no-audit', '--no-fund', '--foreground-scripts', tarball], {
      cwd: project,
      env: userEnv({ SPARK_SYNC_HOME: homeA, SPARK_SYNC_MAVEN_REPO: MAVEN_CACHE, npm_config_sqlite3_local_prebuilds: sqlitePrebuilds(path.join(work, 'prebuilds')) }),
    });
    assert.equal(install.code, 0, install.stderr.slice(-3000));
    timings.npmInstall = install.seconds;
    const installed = path.join(project, 'node_modules', 'spark-sync');
    assert.deepEqual(fs.readdirSync(path.join(installed, 'jars', 'spark')).sort(), ['ship-to-executors.txt', 'spark-sync-jobs.jar']);
    const manifest = JSON.parse(fs.readFileSync(path.join(installed, 'jars', 'manifest.json'), 'utf8')) as JarManifest;
    const spark = manifest.jars.filter((j) => j.folder === 'spark');
    const kafka = manifest.jars.filter((j) => j.folder === 'kafka');
    assert.ok(spark.length > 150 && kafka.length > 80, `${spark.length} Spark and ${kafka.length} Kafka jars in the manifest`);
    for (const jar of manifest.jars) {
      assert.match(jar.sha1, /^[0-9a-f]{40}$/, jar.file);
      assert.equal(jarFileName(jar), jar.file, 'the file name is the coordinates\' own');
    }
    assert.ok(spark.some((j) => j.groupId === 'org.apache.spark' && j.artifactId === 'spark-core_2.12' && j.version === '3.5.7'));
    assert.ok(manifest.jars.some((j) => j.classifier === 'core' && j.artifactId === 'hive-exec'), 'classifiers are kept');
    assert.deepEqual(manifest.packaged.map((p) => p.file), ['spark-sync-jobs.jar']);
    const distinct = [...new Set(manifest.jars.map((j) => repositoryPath(j)))].sort();
    assert.match(install.stderr, new RegExp(`fetching ${distinct.length} jars \\(\\d+ MB\\) from ${MAVEN_CACHE} into ${homeA}/jars`));
    assert.match(install.stderr, new RegExp(`fetched ${distinct.length} jars \\(\\d+ MB\\) in [\\d.]+ s, each checked against its SHA-1`));
    assert.deepEqual(cacheFiles(homeA), { jars: distinct, parts: [] }, 'the cache holds every jar of the manifest, in the Maven layout, and nothing partial');

    // 3. npx spark-sync demo: its own broker, sample file, sync, rerun, verify.
    const demo = await run('npx', ['--no', 'spark-sync', 'demo'], { cwd: project, env: userEnv({ SPARK_SYNC_HOME: homeA }) });
    assert.equal(demo.code, 0, demo.stderr.slice(-3000));
    timings.demo = demo.seconds;
    assert.equal(demo.summary.ok, true);
    assert.equal(demo.summary.messages, 100_000);
    assert.equal(demo.summary.first_run_sent, 100_000);
    assert.equal(demo.summary.rerun_sent, 0);
    assert.equal(demo.summary.missing, 0);
    assert.equal(demo.summary.duplicated, 0);
    assert.doesNotMatch(demo.stderr, /fetching \d+ jars/, 'nothing left to fetch after npm install');

    // 4. The library, first use on an empty cache (no postinstall ran for it): it fetches the
    //    broker's jars, then Spark's, from SPARK_SYNC_MAVEN_REPO, then syncs.
    const homeB = path.join(work, 'home-b');
    const libDir = path.join(work, 'library');
    fs.mkdirSync(libDir);
    fs.writeFileSync(path.join(project, 'sync.mjs'), LIBRARY_SCRIPT);
    const library = await run(process.execPath, ['sync.mjs', libDir], { cwd: project, env: userEnv({ SPARK_SYNC_HOME: homeB, SPARK_SYNC_MAVEN_REPO: MAVEN_CACHE }) });
    assert.equal(library.code, 0, library.stderr.slice(-3000));
    timings.libraryFirstUse = library.seconds;
    const figures = JSON.parse(library.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    assert.deepEqual(figures, { rows: 7000, sent: 7000, messages: 7000, ok: true, missing: 0, duplicated: 0 });
    const fetched = [...library.stderr.matchAll(/spark-sync: fetched (\d+) jars/g)].map((m) => Number(m[1]));
    assert.equal(fetched.reduce((a, b) => a + b, 0), distinct.length, `first use fetched every jar once: ${library.stderr.slice(-2000)}`);
    assert.deepEqual(cacheFiles(homeB), { jars: distinct, parts: [] });

    // 5. An interrupted download: one jar gone, a dead fetch's temporary file beside it. doctor
    //    names it and the command; install-jars fetches just that one and clears the leftover.
    const lost = spark.find((j) => j.artifactId === 'kafka-clients')!;
    const lostPath = path.join(homeA, 'jars', ...repositoryPath(lost).split('/'));
    fs.rmSync(lostPath);
    const leftover = `${lostPath}.${os.hostname()}-4194000-0000abcd.part`;
    fs.writeFileSync(leftover, 'half a jar');
    const doctor = await run('npx', ['--no', 'spark-sync', 'doctor'], { cwd: project, env: userEnv({ SPARK_SYNC_HOME: homeA }) });
    assert.equal(doctor.code, 2, doctor.stderr);
    const checks = doctor.summary.checks as Array<{ name: string; ok: boolean; detail: string }>;
    const jarsCheck = checks.find((c) => c.name === 'jars')!;
    assert.equal(jarsCheck.ok, false);
    assert.match(jarsCheck.detail, new RegExp(`^1 of ${distinct.length} jars \\([\\d.]+ [kM]B\\) are missing from the jar cache ${homeA}/jars \\(an interrupted or failed download\\?\\): ${lost.file}; fetch them with \`spark-sync install-jars\``));
    const fill = await run('npx', ['--no', 'spark-sync', 'install-jars'], { cwd: project, env: userEnv({ SPARK_SYNC_HOME: homeA, SPARK_SYNC_MAVEN_REPO: MAVEN_CACHE }) });
    assert.equal(fill.code, 0, fill.stderr);
    assert.equal(fill.summary.fetched, 1);
    assert.equal(fs.existsSync(leftover), false, 'the dead fetch\'s temporary file is gone');
    const healthy = await run('npx', ['--no', 'spark-sync', 'doctor'], { cwd: project, env: userEnv({ SPARK_SYNC_HOME: homeA }) });
    assert.equal(healthy.code, 0, healthy.stderr);
    assert.match((healthy.summary.checks as Array<{ name: string; detail: string }>).find((c) => c.name === 'jars')!.detail, new RegExp(`${distinct.length} jars .* in the jar cache .*, each matching its SHA-1`));

    t.diagnostic(`timings (s): ${JSON.stringify(timings)}`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});
