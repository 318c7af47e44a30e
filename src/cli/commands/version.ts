import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { Command } from 'commander';
import { asSparkSyncError } from '../../errors/spark-sync-error';
import { JAR_FOLDERS, jarCacheDir, jarSource } from '../../install/jar-cache';
import { resolveSparkRuntime } from '../../spark/spark-runtime';
import { exitCodesHelp, printSummary } from '../output';

/**
 * `version`: spark-sync's version, as `--version` prints it; with `--verbose`, what it runs on,
 * for a bug report or a cluster admin: Spark and Scala (from the jars the driver would load),
 * Java (`java -version`), SPARK_HOME and the jar cache. Starts no JVM and no Spark; what cannot
 * be found is printed as unknown, with why, rather than failing.
 */
export function versionCommand(): Command {
  return new Command('version')
    .description("print spark-sync's version; with --verbose also the Spark, Scala and Java it runs on, SPARK_HOME and the jar cache")
    .addHelpText('after', `
Example:
  spark-sync version
  spark-sync version --verbose   # human-readable lines, then a JSON summary as the last line
${exitCodesHelp([0, 1, 2])}`)
    .action((_opts: unknown, cmd: Command) => {
      const version = cmd.parent!.version()!;
      // The flag only: a SPARK_SYNC_VERBOSE or `verbose: true` meant for logs must not change what
      // a script reading `spark-sync version` gets.
      if (cmd.parent!.getOptionValueSource('verbose') !== 'cli') {
        process.stdout.write(`${version}\n`);
        return;
      }
      const about = runtimeAbout();
      const java = javaAbout();
      process.stdout.write([
        `spark-sync ${version}`,
        `Spark:      ${about.spark_version ?? `unknown (${about.spark_error})`}`,
        `Scala:      ${about.scala_version ?? 'unknown'}`,
        `Java:       ${java.java_version ?? 'unknown'} (${java.java === 'java' ? 'java on PATH' : java.java}${java.found ? '' : ': not found; install a Java 17 JDK or set JAVA_HOME'})`,
        `SPARK_HOME: ${about.spark_home ?? "unset: spark-sync's own jars"}`,
        `jar cache:  ${about.jar_cache} (${about.jar_cache_used ? 'in use' : 'not used: this spark-sync runs on its own built jars/'})`,
        `Node.js:    ${process.version}`,
        '',
      ].join('\n'));
      printSummary({ command: 'version', ok: true, version, ...about, java: java.java, java_found: java.found, java_version: java.java_version ?? null, node_version: process.version });
    });
}

/** Spark's and Scala's versions from the jar names the driver would put on its classpath. */
function runtimeAbout(): { spark_version: string | null; scala_version: string | null; spark_home: string | null; jar_cache: string; jar_cache_used: boolean; spark_error?: string } {
  const cache = { jar_cache: jarCacheDir(), jar_cache_used: JAR_FOLDERS.some((f) => jarSource(f) === 'cache') };
  try {
    const runtime = resolveSparkRuntime();
    return { spark_version: runtime.sparkVersion, scala_version: runtime.scalaVersion, spark_home: runtime.sparkHome ?? null, ...cache };
  } catch (err) {
    // Jars not built, or a SPARK_HOME of another Spark line: `doctor` says what to do; here it is a fact to report.
    const home = process.env.SPARK_HOME?.trim();
    return { spark_version: null, scala_version: null, spark_home: home ? path.resolve(home) : null, ...cache, spark_error: asSparkSyncError(err).oneLine() };
  }
}

/** The Java a JVM would start from: $JAVA_HOME's, else the one on PATH, as `java -version` reports it. */
function javaAbout(): { java: string; found: boolean; java_version?: string } {
  const home = process.env.JAVA_HOME?.trim();
  const java = home ? path.join(home, 'bin', 'java') : 'java';
  const r = spawnSync(java, ['-version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return { java, found: false };
  // `openjdk version "17.0.12" 2024-07-16`: the quoted part is the version.
  const version = /version "([^"]+)"/.exec(r.stderr)?.[1];
  return { java, found: true, ...(version ? { java_version: version } : {}) };
}
