import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { KAFKA_JARS_DIR, PACKAGE_ROOT, SPARK_JARS_DIR, sparkSyncHome } from '../config/paths';
import { SparkSyncError } from '../errors/spark-sync-error';
import type { Logger } from '../log/logger';
import { isAlive, sleep } from '../util/processes';

/**
 * The jar cache of an installed spark-sync. A packed spark-sync carries only its own job jar
 * (jars/spark/spark-sync-jobs.jar) and jars/manifest.json, which names every other jar of
 * jars/spark (Spark, Hadoop client, Kafka client, …) and jars/kafka (the development broker) by
 * its Maven coordinates and SHA-1, as `npm pack` found them. Those jars are fetched from a Maven
 * repository (Maven Central unless SPARK_SYNC_MAVEN_REPO or `--from` names another, a URL or a
 * folder such as ~/.m2/repository) into `$SPARK_SYNC_HOME/jars`, in the Maven repository layout,
 * shared by every project on the machine: by `npm install` (scripts/postinstall.js), by
 * `spark-sync install-jars`, or on first use. Each download goes to a temporary file, is checked
 * against its SHA-1 and only then renamed into place, so the cache never holds a partial or
 * foreign jar. A git clone built with `npm run build:jars` has the full jars/ folders and never
 * uses the cache.
 */

export type JarFolder = 'spark' | 'kafka';
export const JAR_FOLDERS: readonly JarFolder[] = ['spark', 'kafka'];

export interface MavenCoordinates {
  groupId: string;
  artifactId: string;
  version: string;
  classifier?: string;
}

/** A jar of jars/spark or jars/kafka that the package does not carry. */
export interface ManifestJar extends MavenCoordinates {
  folder: JarFolder;
  /** Its name in the folder, as Maven's copy-dependencies wrote it: artifactId-version[-classifier].jar. */
  file: string;
  sha1: string;
  size: number;
}

/** jars/manifest.json, written by scripts/write-manifest.js when the package is packed. */
export interface JarManifest {
  format: 1;
  /** name@version of the package it was packed into. */
  package: string;
  created: string;
  /** Where these jars are published (informative; the source is SPARK_SYNC_MAVEN_REPO or --from). */
  repository: string;
  /** Jars inside the package itself: the job jar. */
  packaged: Array<{ folder: JarFolder; file: string; sha1: string; size: number }>;
  /** Jars fetched into the cache. */
  jars: ManifestJar[];
  /** Jars of the git clone's build that an installed package does without, and why. */
  leftOut: Array<{ folder: JarFolder; file: string; reason: string }>;
}

export const MANIFEST_FILE = path.join(PACKAGE_ROOT, 'jars', 'manifest.json');
export const DEFAULT_MAVEN_REPO = 'https://repo1.maven.org/maven2';
const PARALLEL_DOWNLOADS = 4;
const ATTEMPTS = 3;
const IDLE_TIMEOUT_MS = 60_000;

/** The Maven repository jars are fetched from: SPARK_SYNC_MAVEN_REPO, else Maven Central. */
export function mavenRepo(env: NodeJS.ProcessEnv = process.env): string {
  return env.SPARK_SYNC_MAVEN_REPO?.trim() || DEFAULT_MAVEN_REPO;
}

/** `$SPARK_SYNC_HOME/jars`: the jar cache, in the Maven repository layout. */
export function jarCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(sparkSyncHome(env), 'jars');
}

export function jarFileName(c: MavenCoordinates): string {
  return `${c.artifactId}-${c.version}${c.classifier ? `-${c.classifier}` : ''}.jar`;
}

/** `org/apache/spark/spark-core_2.12/3.5.7/spark-core_2.12-3.5.7.jar`: where a repository (and the cache) keeps it. */
export function repositoryPath(c: MavenCoordinates): string {
  return [...c.groupId.split('.'), c.artifactId, c.version, jarFileName(c)].join('/');
}

export function cachedJarPath(jar: MavenCoordinates, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(jarCacheDir(env), ...repositoryPath(jar).split('/'));
}

let manifestRead: { file: string; manifest: JarManifest | undefined } | undefined;

/** jars/manifest.json, or undefined when there is none (a git clone). */
export function readManifest(file: string = MANIFEST_FILE): JarManifest | undefined {
  if (manifestRead?.file === file) return manifestRead.manifest;
  let manifest: JarManifest | undefined;
  if (fs.existsSync(file)) {
    try {
      manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as JarManifest;
      if (manifest.format !== 1 || !Array.isArray(manifest.jars)) throw new Error(`unknown format ${String(manifest.format)}`);
    } catch (err) {
      throw new SparkSyncError('INSTALL_INCOMPLETE', `${file} cannot be read: ${(err as Error).message}`, {
        hint: 'reinstall spark-sync (npm install spark-sync)',
      });
    }
  }
  manifestRead = { file, manifest };
  return manifest;
}

/**
 * Where a folder's jars come from: `build`, the package's own jars/ folder filled by
 * `npm run build:jars` (a git clone); `cache`, the jar cache, as jars/manifest.json lists them
 * (an installed package); `none` when neither is there.
 */
export function jarSource(folder: JarFolder): 'build' | 'cache' | 'none' {
  const [dir, marker] = folder === 'spark' ? [SPARK_JARS_DIR, /^spark-core_/] : [KAFKA_JARS_DIR, /^kafka_/];
  if (fs.existsSync(dir) && fs.readdirSync(dir).some((f) => marker.test(f) && f.endsWith('.jar'))) return 'build';
  return readManifest() ? 'cache' : 'none';
}

/** The manifest's jars of these folders. */
export function manifestJars(folders: readonly JarFolder[], manifest: JarManifest | undefined = readManifest()): ManifestJar[] {
  return (manifest?.jars ?? []).filter((j) => folders.includes(j.folder));
}

/** One entry per cached file: the same coordinates may serve both folders. */
export function distinctJars(jars: readonly ManifestJar[]): ManifestJar[] {
  const seen = new Map<string, ManifestJar>();
  for (const jar of jars) if (!seen.has(repositoryPath(jar))) seen.set(repositoryPath(jar), jar);
  return [...seen.values()];
}

/** The jars not in the cache (absent, or of another size), one entry per file. */
export function missingJars(jars: readonly ManifestJar[], env: NodeJS.ProcessEnv = process.env): ManifestJar[] {
  return distinctJars(jars).filter((jar) => {
    try {
      return fs.statSync(cachedJarPath(jar, env)).size !== jar.size;
    } catch {
      return true;
    }
  });
}

/** The cached jars whose content is not their SHA-1 (doctor, install-jars): reads every byte. */
export async function corruptJars(jars: readonly ManifestJar[], env: NodeJS.ProcessEnv = process.env): Promise<ManifestJar[]> {
  const bad: ManifestJar[] = [];
  for (const jar of distinctJars(jars)) {
    const file = cachedJarPath(jar, env);
    if (!fs.existsSync(file)) continue;
    const hash = createHash('sha1');
    await pipeline(fs.createReadStream(file), hash);
    if (hash.digest('hex') !== jar.sha1) bad.push(jar);
  }
  return bad;
}

export function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(bytes < 10e6 ? 1 : 0);
}

/** `318 MB`, `3.2 MB`, `41 kB`. */
export function sizeText(bytes: number): string {
  return bytes < 1e6 ? `${Math.ceil(bytes / 1e3)} kB` : `${megabytes(bytes)} MB`;
}

/** The command that fills the cache, for hints. */
export const INSTALL_COMMAND = 'spark-sync install-jars';

/** INSTALL_INCOMPLETE naming what is missing and how to fetch it. */
export function incompleteCache(missing: readonly ManifestJar[], total: number, env: NodeJS.ProcessEnv = process.env, why?: string): SparkSyncError {
  const names = missing.slice(0, 3).map((j) => j.file).join(', ') + (missing.length > 3 ? `, … (${missing.length - 3} more)` : '');
  const bytes = missing.reduce((a, j) => a + j.size, 0);
  return new SparkSyncError('INSTALL_INCOMPLETE', `${missing.length} of ${total} jars (${sizeText(bytes)}) are missing from the jar cache ${jarCacheDir(env)}${why ? ` (${why})` : ''}: ${names}`, {
    hint: `fetch them with \`${INSTALL_COMMAND}\` (from ${mavenRepo(env)}), or without internet \`${INSTALL_COMMAND} --from <a Maven repository folder or URL>\``,
  });
}

/** Progress of a fetch, on stderr: see {@link stderrProgress}. */
export interface FetchProgress {
  start(jars: number, bytes: number, from: string, cache: string): void;
  bytes(n: number): void;
  jarDone(): void;
  end(result: FetchResult): void;
}

export interface FetchResult {
  fetched: number;
  bytes: number;
  seconds: number;
  from: string;
  cache: string;
}

/**
 * A start and an end line (through `log` when given, else plain text on stderr); at a terminal,
 * also one line rewritten in place with the percentage of bytes and the jars done.
 */
export function stderrProgress(options: { log?: Logger; tty?: boolean } = {}): FetchProgress {
  const tty = options.tty ?? !!process.stderr.isTTY;
  const say = (fields: object, msg: string) => (options.log ? options.log.info(fields, msg) : process.stderr.write(`spark-sync: ${msg}\n`));
  let total = 0;
  let count = 0;
  let done = 0;
  let jars = 0;
  let shown = 0;
  const draw = (force: boolean) => {
    if (!tty || (!force && Date.now() - shown < 250)) return;
    shown = Date.now();
    const pct = total ? Math.floor((100 * done) / total) : 100;
    process.stderr.write(`\rspark-sync: jars ${pct}% (${megabytes(done)} of ${megabytes(total)} MB, ${jars} of ${count} jars)\x1b[K`);
  };
  return {
    start(n, bytes, from, cache) {
      total = bytes;
      count = n;
      say({ jars: n, megabytes: Number(megabytes(bytes)), from, cache }, `fetching ${n} jars (${sizeText(bytes)}) from ${from} into ${cache}`);
    },
    bytes(n) {
      done += n;
      draw(false);
    },
    jarDone() {
      jars += 1;
      draw(false);
    },
    end(result) {
      if (tty) process.stderr.write('\r\x1b[K');
      say({ jars: result.fetched, megabytes: Number(megabytes(result.bytes)), seconds: result.seconds }, `fetched ${result.fetched} jars (${sizeText(result.bytes)}) in ${result.seconds} s, each checked against its SHA-1`);
    },
  };
}

type Source = { kind: 'url'; base: string } | { kind: 'folder'; dir: string };

function parseSource(from: string): Source {
  if (/^https?:\/\//i.test(from)) return { kind: 'url', base: from.replace(/\/+$/, '') };
  const dir = path.resolve(/^file:/i.test(from) ? fileURLToPath(from) : from);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new SparkSyncError('USAGE', `the jar source ${from} is neither an http(s) URL nor a folder`, {
      hint: 'give a Maven repository: a URL such as https://repo1.maven.org/maven2, or a folder in its layout such as ~/.m2/repository',
    });
  }
  return { kind: 'folder', dir };
}

/** Where a jar is in the source, for messages. */
function sourceOf(source: Source, jar: MavenCoordinates): string {
  return source.kind === 'url' ? `${source.base}/${repositoryPath(jar)}` : path.join(source.dir, ...repositoryPath(jar).split('/'));
}

export interface FetchOptions {
  /** A Maven repository: http(s) URL, file:// URL or folder. Default {@link mavenRepo}. */
  from?: string;
  env?: NodeJS.ProcessEnv;
  parallel?: number;
  progress?: FetchProgress;
}

/**
 * Fetches these jars into the cache, {@link PARALLEL_DOWNLOADS} at a time, biggest first. Each
 * lands in a temporary file next to its place, is checked against the manifest's SHA-1 and is
 * then renamed into place; a mismatch deletes it and fails. Jars fetched before a failure stay
 * (each is complete and checked), so a rerun fetches only the rest.
 */
export async function fetchJars(jars: readonly ManifestJar[], options: FetchOptions = {}): Promise<FetchResult> {
  const env = options.env ?? process.env;
  const from = options.from ?? mavenRepo(env);
  const source = parseSource(from);
  const cache = jarCacheDir(env);
  const todo = distinctJars(jars).sort((a, b) => b.size - a.size);
  const started = Date.now();
  const bytes = todo.reduce((a, j) => a + j.size, 0);
  options.progress?.start(todo.length, bytes, from, cache);
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (failure === undefined && next < todo.length) {
      const jar = todo[next++];
      try {
        await fetchOne(jar, source, cachedJarPath(jar, env), options.progress);
        options.progress?.jarDone();
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.parallel ?? PARALLEL_DOWNLOADS, todo.length)) }, worker));
  if (failure !== undefined) {
    if (process.stderr.isTTY && options.progress) process.stderr.write('\r\x1b[K');
    throw failure;
  }
  const result = { fetched: todo.length, bytes, seconds: Math.round((Date.now() - started) / 100) / 10, from, cache };
  options.progress?.end(result);
  return result;
}

async function fetchOne(jar: ManifestJar, source: Source, dest: string, progress?: FetchProgress): Promise<void> {
  const where = sourceOf(source, jar);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  removeAbandonedParts(dest);
  for (let attempt = 1; ; attempt++) {
    const part = `${dest}.${os.hostname()}-${process.pid}-${randomBytes(4).toString('hex')}.part`;
    let counted = 0;
    try {
      const input = source.kind === 'url' ? await httpGet(where) : fs.createReadStream(where);
      const hash = createHash('sha1');
      const tap = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          counted += chunk.length;
          progress?.bytes(chunk.length);
          done(null, chunk);
        },
      });
      // flush: fsync before close, so a jar renamed into place has its bytes on disk.
      await pipeline(input, tap, fs.createWriteStream(part, { flags: 'wx', mode: 0o644, flush: true }));
      const sha1 = hash.digest('hex');
      if (sha1 !== jar.sha1) {
        throw new SparkSyncError('INSTALL_INCOMPLETE', `${where} has SHA-1 ${sha1}, not the ${jar.sha1} that spark-sync was packed with; the download was deleted`, {
          hint: 'the source is not a true copy of Maven Central: check SPARK_SYNC_MAVEN_REPO or --from, then run `spark-sync install-jars` again',
        });
      }
      fs.renameSync(part, dest);
      return;
    } catch (err) {
      fs.rmSync(part, { force: true });
      progress?.bytes(-counted);
      const retriable = !(err instanceof SparkSyncError) && source.kind === 'url' && attempt < ATTEMPTS;
      if (!retriable) {
        if (err instanceof SparkSyncError) throw err;
        const code = (err as NodeJS.ErrnoException).code;
        throw new SparkSyncError('INSTALL_INCOMPLETE', `could not fetch ${where}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`, {
          cause: err,
          hint: `check access to ${source.kind === 'url' ? source.base : source.dir}, or fetch the jars from elsewhere with \`${INSTALL_COMMAND} --from <a Maven repository folder or URL>\``,
        });
      }
      await sleep(1000 * attempt);
    }
  }
}

/** Temporary files of this host's fetches that died (SIGKILL, power loss) before renaming. */
function removeAbandonedParts(dest: string): void {
  const prefix = `${path.basename(dest)}.${os.hostname()}-`;
  for (const name of fs.readdirSync(path.dirname(dest))) {
    if (!name.startsWith(prefix) || !name.endsWith('.part')) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (Number.isInteger(pid) && pid !== process.pid && !isAlive(pid)) fs.rmSync(path.join(path.dirname(dest), name), { force: true });
  }
}

/** A GET's body; follows redirects; fails on any status but 200, and on 60 s without data. */
function httpGet(url: string, redirects = 5): Promise<Readable> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? https.get : http.get;
    const req = get(url, { headers: { 'user-agent': 'spark-sync' } }, (res) => {
      const status = res.statusCode ?? 0;
      if ([301, 302, 303, 307, 308].includes(status) && res.headers.location && redirects > 0) {
        res.resume();
        resolve(httpGet(new URL(res.headers.location, url).toString(), redirects - 1));
        return;
      }
      if (status !== 200) {
        res.resume();
        const err = new Error(`HTTP ${status}${status === 404 ? ' (not found)' : ''}`);
        // 4xx will not change on a retry: fail at once.
        reject(status >= 400 && status < 500 ? new SparkSyncError('INSTALL_INCOMPLETE', `could not fetch ${url}: ${err.message}`, {
          hint: `check that the repository holds it, or fetch the jars from elsewhere with \`${INSTALL_COMMAND} --from <a Maven repository folder or URL>\``,
        }) : err);
        return;
      }
      res.setTimeout(IDLE_TIMEOUT_MS, () => res.destroy(new Error(`no data for ${IDLE_TIMEOUT_MS / 1000} s`)));
      resolve(res);
    });
    req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(new Error(`no answer for ${IDLE_TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
  });
}

export interface EnsureOptions {
  env?: NodeJS.ProcessEnv;
  /** Where the start and end lines go (else plain text on stderr). */
  log?: Logger;
  /** Fetch missing jars (default), or fail with INSTALL_INCOMPLETE naming them (doctor). */
  download?: boolean;
}

/**
 * Makes sure the cache holds these jars before a JVM needs them: the first use of an installed
 * spark-sync whose `npm install` could not fetch them (offline, --ignore-scripts, an interrupted
 * download) fetches what is missing; with `download: false`, or when fetching fails,
 * INSTALL_INCOMPLETE names what is missing and the command that fetches it.
 */
export async function ensureCached(jars: readonly ManifestJar[], options: EnsureOptions = {}): Promise<void> {
  const env = options.env ?? process.env;
  const missing = missingJars(jars, env);
  if (missing.length === 0) return;
  const total = distinctJars(jars).length;
  if (options.download === false) throw incompleteCache(missing, total, env);
  try {
    await fetchJars(missing, { env, progress: stderrProgress({ log: options.log }) });
  } catch (err) {
    const still = missingJars(jars, env);
    if (still.length === 0) return; // another process fetched them meanwhile
    const incomplete = incompleteCache(still, total, env);
    throw new SparkSyncError('INSTALL_INCOMPLETE', `${incomplete.message}, and fetching them failed: ${(err as Error).message}`, { cause: err, hint: incomplete.hint });
  }
}

/** {@link ensureCached} for whole folders, when they come from the cache (an installed package). */
export async function ensureFolders(folders: readonly JarFolder[], options: EnsureOptions = {}): Promise<void> {
  const cached = folders.filter((f) => jarSource(f) === 'cache');
  if (cached.length > 0) await ensureCached(manifestJars(cached), options);
}
