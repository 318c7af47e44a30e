import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { program } from '../../src/cli/main';
import { SparkOptionsInput, parseSparkOptions } from '../../src/config/spark-options';
import { SparkSyncError } from '../../src/errors/spark-sync-error';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spark-sync-spark-flags-'));

function file(name: string, text: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
}

/** spark-defaults.conf as a cluster has it: both separators, comments, a blank line. */
const defaults = file('spark-defaults.conf', [
  '# cluster defaults',
  'spark.master                 yarn',
  'spark.driver.memory          3g',
  'spark.executor.memory        8g',
  'spark.executor.cores=4',
  'spark.executor.instances     10',
  'spark.yarn.queue             file-queue',
  'spark.app.name               file-name',
  '',
  'spark.sql.shuffle.partitions 50',
  '! also a comment',
].join('\n'));

/** The resolved settings as a map, and that each key is there once. */
function settings(input: SparkOptionsInput): { master: string; driverMemory?: string; conf: Map<string, string> } {
  const o = parseSparkOptions(input);
  const conf = new Map(o.conf.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  assert.equal(conf.size, o.conf.length, 'each setting once');
  return { master: o.master, driverMemory: o.driverMemory, conf };
}

test("spark-submit's flags set the Spark settings spark-submit sets; the properties file < --conf < a dedicated flag", () => {
  const s = settings({
    propertiesFile: defaults,
    conf: ['spark.executor.cores=2', 'spark.yarn.queue=conf-queue', 'spark.sql.shuffle.partitions=60', 'spark.ui.enabled=false'],
    executorMemory: '2g', numExecutors: '3', queue: 'q', name: 'n',
  });
  assert.deepEqual(Object.fromEntries(s.conf), {
    'spark.executor.memory': '2g', // --executor-memory beats the file
    'spark.executor.cores': '2', // --conf beats the file
    'spark.executor.instances': '3', // --num-executors beats the file
    'spark.yarn.queue': 'q', // --queue beats --conf and the file
    'spark.app.name': 'n', // --name beats the file
    'spark.sql.shuffle.partitions': '60',
    'spark.ui.enabled': 'false',
  });
  // The driver's own: the file's master and heap stand in for missing --master and --driver-memory, and are not Spark settings any more.
  assert.equal(s.master, 'yarn');
  assert.equal(s.driverMemory, '3g');
  const flags = settings({ propertiesFile: defaults, master: 'local[2]', driverMemory: '1g', executorCores: 6, conf: ['spark.master=spark://elsewhere:7077'] });
  assert.equal(flags.master, 'local[2]');
  assert.equal(flags.driverMemory, '1g');
  assert.equal(flags.conf.get('spark.executor.cores'), '6');
  assert.equal(flags.conf.get('spark.executor.memory'), '8g', 'the file where nothing beats it');
  assert.equal(settings({ conf: ['spark.master=spark://m:7077', 'spark.driver.memory=5g'] }).master, 'spark://m:7077', '--conf spark.master, as spark-submit takes it');
  // Nothing given: the defaults of before.
  assert.deepEqual(settings({}), { master: 'local[*]', driverMemory: undefined, conf: new Map() });
});

test('the flags reach the Spark settings from the command line, SPARK_SYNC_* and the config file', async () => {
  const resolved = async (args: string[], env: Record<string, string> = {}) => {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const root = program();
      let captured: SparkOptionsInput = {};
      root.commands.find((c) => c.name() === 'submit')!.action((opts: SparkOptionsInput) => {
        captured = opts;
      });
      await root.parseAsync(['node', 'spark-sync', ...args]);
      return settings(captured);
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    }
  };
  const s = await resolved(['submit', '--executor-memory', '2g', '--num-executors', '3', '--queue', 'q', '--name', 'n', '--executor-cores', '2', '--properties-file', defaults]);
  assert.deepEqual([...s.conf.entries()].filter(([k]) => k !== 'spark.sql.shuffle.partitions').sort(), [
    ['spark.app.name', 'n'], ['spark.executor.cores', '2'], ['spark.executor.instances', '3'], ['spark.executor.memory', '2g'], ['spark.yarn.queue', 'q'],
  ]);
  assert.equal(s.master, 'yarn', 'no --master: the file\'s');
  const fromEnv = await resolved(['submit'], { SPARK_SYNC_EXECUTOR_MEMORY: '6g', SPARK_SYNC_QUEUE: 'env-q' });
  assert.equal(fromEnv.conf.get('spark.executor.memory'), '6g');
  assert.equal(fromEnv.conf.get('spark.yarn.queue'), 'env-q');
  assert.equal(fromEnv.master, 'local[*]');
  const yaml = file('s.yaml', `properties-file: ${defaults}\nnum-executors: 7\n`);
  const fromYaml = await resolved(['--config', yaml, 'submit', '--queue', 'flag-q']);
  assert.equal(fromYaml.conf.get('spark.executor.instances'), '7');
  assert.equal(fromYaml.conf.get('spark.yarn.queue'), 'flag-q');
});

test('bad Spark flags and properties files are exit 2 naming the flag (and the file), never a setting\'s value', () => {
  const refused: Array<[SparkOptionsInput, RegExp]> = [
    [{ executorMemory: 'lots' }, /^--executor-memory takes a size like 4g or 512m/],
    [{ executorMemory: '0g' }, /^--executor-memory takes a size/],
    [{ executorCores: 'two' }, /^--executor-cores must be a whole number/],
    [{ executorCores: '0' }, /^--executor-cores must be at least 1/],
    [{ numExecutors: '1.5' }, /^--num-executors must be a whole number/],
    [{ queue: '' }, /^--queue needs a YARN queue name/],
    [{ name: '' }, /^--name needs an application name/],
    [{ propertiesFile: path.join(dir, 'missing.conf') }, /^--properties-file .*missing\.conf cannot be read \(ENOENT\)/],
    [{ propertiesFile: file('kafka.conf', 'sasl.password hunter2\n') }, /^--properties-file .*kafka\.conf sets sasl\.password, which is not a Spark setting \(those start with spark\.\)/],
    [{ propertiesFile: file('drop.conf', 'spark.sql.files.ignoreCorruptFiles true\n') }, /^--properties-file .*drop\.conf sets spark\.sql\.files\.ignoreCorruptFiles=true, which makes Spark skip unreadable or vanished files silently/],
    [{ propertiesFile: file('master.conf', 'spark.master mesos://hunter2\n') }, /^spark\.master \(from --conf or --properties-file, standing in for --master\): --master must be/],
    [{ conf: ['spark.driver.memory=hunter2'] }, /^spark\.driver\.memory \(from --conf or --properties-file, standing in for --driver-memory\): --driver-memory takes a JVM size/],
  ];
  for (const [input, message] of refused) {
    assert.throws(() => parseSparkOptions(input, 'verify'), (err: unknown) => {
      assert.ok(err instanceof SparkSyncError, String(err));
      assert.equal(err.exitCode, 2);
      assert.match(err.oneLine(), message);
      assert.match(err.oneLine(), /; see `spark-sync verify --help`$/);
      assert.doesNotMatch(err.oneLine(), /hunter2/);
      return true;
    }, JSON.stringify(input));
  }
});

test('the CLI checks the Spark flags before Spark starts: exit 2, one line naming the flag', () => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SPARK_SYNC_')));
  const bin = path.resolve(__dirname, '..', '..', '..', 'bin', 'spark-sync.js');
  for (const [flag, value, message] of [['--executor-memory', 'lots', '--executor-memory takes a size like 4g or 512m'], ['--num-executors', '0', '--num-executors must be at least 1']]) {
    const r = spawnSync(process.execPath, [bin, 'preview', '--source', dir, flag, value], { env: { ...env, SPARK_SYNC_HOME: path.join(dir, 'home') }, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, `spark-sync: error [USAGE]: ${message}; see \`spark-sync preview --help\`\n`);
    assert.equal(JSON.parse(r.stdout.trim().split('\n').at(-1)!).error.code, 'USAGE');
  }
});
