import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { SparkSyncError } from '../../src/errors/spark-sync-error';
import {
  FetchProgress, ManifestJar, cachedJarPath, corruptJars, ensureCached, fetchJars, missingJars, repositoryPath,
} from '../../src/install/jar-cache';
import { silentLogger } from '../../src/log/logger';
import { SparkRuntime, clusterConf } from '../../src/spark/spark-runtime';

/** A Maven repository folder with these jars (random bytes), and their manifest entries. */
function fakeRepository(specs: Array<{ groupId: string; artifactId: string; version: string; classifier?: string; bytes: number }>): { repo: string; jars: ManifestJar[] } {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'spark-sync-repo-'));
  const jars = specs.map(({ bytes, ...c }) => {
    const content = Buffer.alloc(bytes, `${c.artifactId}:${c.version}`);
    const file = path.join(repo, ...repositoryPath(c).split('/'));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
    return { folder: 'spark' as const, file: path.basename(file), ...c, sha1: createHash('sha1').update(content).digest('hex'), size: bytes };
  });
  return { repo, jars };
}

const SPECS = [
  { groupId: 'org.example', artifactId: 'big', version: '1.0', bytes: 3_000_000 },
  { groupId: 'org.example.deep', artifactId: 'small', version: '2.1', classifier: 'linux-x86_64', bytes: 10_000 },
  { groupId: 'com.other', artifactId: 'mid', version: '0.3', bytes: 200_000 },
];

function emptyHome(): NodeJS.ProcessEnv {
  return { SPARK_SYNC_HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'spark-sync-home-')) };
}

/** Every file under a folder, relative. */
function filesUnder(dir: string): string[] {
  return fs.existsSync(dir) ? (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort() : [];
}

function recorder(): FetchProgress & { lines: string[]; bytesSeen: number; jarsSeen: number } {
  const r = {
    lines: [] as string[], bytesSeen: 0, jarsSeen: 0,
    start: (n: number, bytes: number) => r.lines.push(`start ${n} ${bytes}`),
    bytes: (n: number) => { r.bytesSeen += n; },
    jarDone: () => { r.jarsSeen += 1; },
    end: (res: { fetched: number }) => r.lines.push(`end ${res.fetched}`),
  };
  return r;
}

test('jars are fetched from a repository folder (or file:// URL) into the Maven layout of $SPARK_SYNC_HOME/jars, SHA-1 checked, nothing else left', async () => {
  const { repo, jars } = fakeRepository(SPECS);
  for (const from of [repo, pathToFileURL(repo).toString()]) {
    const env = emptyHome();
    assert.equal(missingJars(jars, env).length, 3);
    const progress = recorder();
    const result = await fetchJars(jars, { from, env, progress });
    assert.equal(result.fetched, 3);
    assert.deepEqual(progress.lines, [`start 3 ${3_210_000}`, 'end 3']);
    assert.equal(progress.bytesSeen, 3_210_000);
    assert.equal(progress.jarsSeen, 3);
    assert.equal(missingJars(jars, env).length, 0);
    assert.deepEqual(filesUnder(path.join(env.SPARK_SYNC_HOME!, 'jars')), jars.map((j) => repositoryPath(j)).sort());
    assert.equal(cachedJarPath(jars[1], env), path.join(env.SPARK_SYNC_HOME!, 'jars', 'org/example/deep/small/2.1/small-2.1-linux-x86_64.jar'));
    assert.deepEqual(await corruptJars(jars, env), []);
  }
});

test('a jar whose SHA-1 differs is deleted and fails in one line; the jars fetched before it stay', async () => {
  const { repo, jars } = fakeRepository(SPECS);
  const env = emptyHome();
  const wrong = jars.map((j) => (j.artifactId === 'small' ? { ...j, sha1: '0'.repeat(40) } : j));
  await assert.rejects(fetchJars(wrong, { from: repo, env, parallel: 1 }), (err: SparkSyncError) => {
    assert.equal(err.code, 'INSTALL_INCOMPLETE');
    assert.match(err.oneLine(), /small-2\.1-linux-x86_64\.jar has SHA-1 [0-9a-f]{40}, not the 0{40} that spark-sync was packed with; the download was deleted/);
    assert.equal(err.oneLine().includes('\n'), false);
    return true;
  });
  // Biggest first, one at a time: big and mid were fetched and kept, small never landed.
  assert.deepEqual(filesUnder(path.join(env.SPARK_SYNC_HOME!, 'jars')), [repositoryPath(jars[2]), repositoryPath(jars[0])].sort());
});

test('over HTTP: a dropped connection is retried, a partial download never reaches the cache, 404 fails at once', async () => {
  const { repo, jars } = fakeRepository(SPECS);
  const requests = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const n = (requests.get(req.url!) ?? 0) + 1;
    requests.set(req.url!, n);
    const file = path.join(repo, ...req.url!.replace(/^\/maven2\//, '').split('/'));
    if (!fs.existsSync(file)) return void res.writeHead(404).end();
    const body = fs.readFileSync(file);
    res.writeHead(200, { 'content-length': body.length });
    // The big jar's first request breaks off halfway, as a network failure would.
    if (req.url!.includes('/big/') && n === 1) {
      res.write(body.subarray(0, body.length / 2), () => res.destroy());
      return;
    }
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/maven2`;
  try {
    const env = emptyHome();
    const seen: string[] = [];
    const watcher = setInterval(() => seen.push(...filesUnder(path.join(env.SPARK_SYNC_HOME!, 'jars')).filter((f) => f.endsWith('.jar'))), 5);
    const result = await fetchJars(jars, { from: base, env });
    clearInterval(watcher);
    assert.equal(result.fetched, 3);
    assert.equal(requests.get(`/maven2/${repositoryPath(jars[0])}`), 2, 'the broken download was retried');
    assert.deepEqual(await corruptJars(jars, env), []);
    assert.deepEqual(filesUnder(path.join(env.SPARK_SYNC_HOME!, 'jars')), jars.map((j) => repositoryPath(j)).sort(), 'no temporary file is left');
    // Whenever a jar's final name existed, it was whole: only complete, checked files are renamed into place.
    for (const f of new Set(seen)) assert.ok(jars.some((j) => repositoryPath(j) === f), f);

    const absent = { ...jars[2], artifactId: 'absent', file: 'absent-0.3.jar' };
    const started = Date.now();
    await assert.rejects(fetchJars([absent], { from: base, env: emptyHome() }), /could not fetch http:\/\/127\.0\.0\.1:\d+\/maven2\/com\/other\/absent\/0\.3\/absent-0\.3\.jar: HTTP 404 \(not found\)/);
    assert.ok(Date.now() - started < 1000, '404 is not retried');
  } finally {
    server.close();
  }
});

test('first use: missing jars are fetched from SPARK_SYNC_MAVEN_REPO, or named with the command that fetches them', async () => {
  const { repo, jars } = fakeRepository(SPECS);
  const env = { ...emptyHome(), SPARK_SYNC_MAVEN_REPO: repo };
  await assert.rejects(ensureCached(jars, { env, download: false }), (err: SparkSyncError) => {
    assert.equal(err.code, 'INSTALL_INCOMPLETE');
    assert.match(err.oneLine(), /^3 of 3 jars \(3\.2 MB\) are missing from the jar cache .*\/jars: big-1\.0\.jar, .*; fetch them with `spark-sync install-jars` \(from .*\), or without internet `spark-sync install-jars --from <a Maven repository folder or URL>`$/);
    return true;
  });
  const lines: string[] = [];
  const log = { info: (_f: object, msg: string) => lines.push(msg), debug: () => {}, warn: () => {}, error: () => {} };
  await ensureCached(jars, { env, log });
  assert.equal(missingJars(jars, env).length, 0);
  assert.equal(lines.length, 2, `a start and an end line when not at a terminal: ${lines.join(' | ')}`);
  assert.match(lines[0], /^fetching 3 jars \(3\.2 MB\) from .* into .*\/jars$/);
  assert.match(lines[1], /^fetched 3 jars \(3\.2 MB\) in [\d.]+ s, each checked against its SHA-1$/);
  fs.rmSync(cachedJarPath(jars[1], env));
  await assert.rejects(ensureCached(jars, { env, download: false }), /1 of 3 jars \(10 kB\) are missing/);
  await assert.rejects(ensureCached(jars, { env: { ...env, SPARK_SYNC_MAVEN_REPO: 'http://127.0.0.1:9/none' }, log: silentLogger }), (err: SparkSyncError) => {
    // A refused connection is retried twice (1 s, 2 s), then fails naming the jar and the source.
    assert.match(err.oneLine(), /1 of 3 jars .* missing from the jar cache .*, and fetching them failed: could not fetch http:\/\/127\.0\.0\.1:9\/none\/.*small-2\.1-linux-x86_64\.jar/);
    return true;
  });
});

test('an installed package (jars from the cache) has no YARN client: --master yarn asks for SPARK_HOME in one line', () => {
  const rt: SparkRuntime = { sparkJars: ['/c/spark-core_2.12-3.5.7.jar'], shipJars: ['/p/spark-sync-jobs.jar'], sparkVersion: '3.5.7', scalaVersion: '2.12', cachedJars: [] };
  assert.throws(() => clusterConf('yarn', rt, [], [], {}), (err: SparkSyncError) => {
    assert.equal(err.exitCode, 2);
    assert.match(err.oneLine(), /^this installed spark-sync has no YARN client: spark-yarn_2\.12 3\.5\.7 is not published on Maven Central, where its jars come from; set SPARK_HOME to a Spark 3\.5\.7 \(Scala 2\.12\) installation/);
    return true;
  });
  assert.ok(clusterConf('spark://m:7077', rt, [], [], {}).some((kv) => kv.startsWith('spark.jars=/p/spark-sync-jobs.jar')), 'a standalone cluster needs no SPARK_HOME');
  assert.ok(clusterConf('yarn', { ...rt, sparkHome: '/opt/spark' }, ['spark.yarn.archive=hdfs:///a.zip'], [], {}).length > 0, 'with SPARK_HOME, YARN goes ahead');
});
