import fs from 'node:fs';
import { Command } from 'commander';
import { SparkSyncError } from '../../errors/spark-sync-error';
import {
  JAR_FOLDERS, corruptJars, distinctJars, fetchJars, jarCacheDir, jarSource, manifestJars, mavenRepo, missingJars, stderrProgress,
} from '../../install/jar-cache';
import { globalOptions } from '../global-options';
import { exitCodesHelp, printSummary } from '../output';

/**
 * `install-jars`: fills the jar cache of an installed spark-sync (`$SPARK_SYNC_HOME/jars`) with
 * the jars jars/manifest.json lists, from Maven Central or another Maven repository, a URL or a
 * folder. What `npm install` and the first use do on their own, as a command for a machine
 * without internet, or to repair the cache: present jars are re-checked against their SHA-1.
 */
export function installJarsCommand(): Command {
  return new Command('install-jars')
    .description("fetch the Spark, Hadoop and Kafka jars of an installed spark-sync into its jar cache ($SPARK_SYNC_HOME/jars), each checked against its SHA-1")
    .option('--from <repository>', 'a Maven repository: an http(s) URL, or a folder in its layout (~/.m2/repository, another machine\'s $SPARK_SYNC_HOME/jars) (default: $SPARK_SYNC_MAVEN_REPO, else https://repo1.maven.org/maven2)')
    .addHelpText('after', `
Example:
  spark-sync install-jars                                  # from Maven Central
  spark-sync install-jars --from ~/.m2/repository          # offline, from a local Maven repository
  spark-sync install-jars --from https://nexus.example.com/repository/maven-central

npm install runs it (set SPARK_SYNC_SKIP_JAR_DOWNLOAD=1 to skip), and the first use fetches
what is missing; a git clone uses its own jars/ (npm run build:jars) and needs none of it.
${exitCodesHelp([0, 1, 2], { 2: 'bad usage, or a jar could not be fetched or does not match its SHA-1' })}`)
    .action(async (opts: { from?: string }, cmd: Command) => {
      const { log } = globalOptions(cmd);
      const folders = JAR_FOLDERS.filter((f) => jarSource(f) === 'cache');
      const cache = jarCacheDir();
      if (folders.length === 0) {
        const built = JAR_FOLDERS.filter((f) => jarSource(f) === 'build');
        if (built.length === 0) {
          throw new SparkSyncError('INSTALL_INCOMPLETE', 'this spark-sync has neither its built jars/ folders nor jars/manifest.json', {
            hint: 'in a git clone run `npm run build:jars` (needs Java 17 and Maven); else reinstall spark-sync',
          });
        }
        log.info({ folders: built }, 'this spark-sync runs on its own built jars/ (a git clone): no jar cache to fill');
        printSummary({ command: 'install-jars', ok: true, jars: 0, fetched: 0, note: 'built jars/ in use (a git clone)' });
        return;
      }
      const jars = manifestJars(folders);
      // A jar of the right size but the wrong bytes (a disk error, a hand-copied file) is fetched again.
      const corrupt = await corruptJars(jars);
      for (const jar of corrupt) log.warn({ jar: jar.file }, `${jar.file} in the cache does not match its SHA-1: fetching it again`);
      const todo = distinctJars([...missingJars(jars), ...corrupt]);
      const from = opts.from ?? mavenRepo();
      const total = distinctJars(jars).length;
      if (todo.length === 0) {
        log.info({ cache, jars: total }, `all ${total} jars are in ${cache}, each matching its SHA-1`);
        printSummary({ command: 'install-jars', ok: true, cache, jars: total, fetched: 0, bytes: 0, seconds: 0 });
        return;
      }
      if (opts.from && !/^(https?|file):/i.test(opts.from) && !fs.existsSync(opts.from)) {
        throw new SparkSyncError('USAGE', `--from ${opts.from} does not exist`, { hint: 'give a Maven repository folder (e.g. ~/.m2/repository) or an http(s) URL' });
      }
      const result = await fetchJars(todo, { from, progress: stderrProgress({ log }) });
      printSummary({ command: 'install-jars', ok: true, cache, jars: total, fetched: result.fetched, bytes: result.bytes, seconds: result.seconds, from });
    });
}
