import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Command } from 'commander';
import { commandPath, commandTree } from '../../src/cli/command-tree';
import { program } from '../../src/cli/main';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spark-sync-commands-'));

function runBin(args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SPARK_SYNC_') && k !== 'SPARK_HOME'));
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'spark-sync.js'), ...args], { env: { ...clean, SPARK_SYNC_HOME: path.join(dir, 'home'), ...env }, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function sh(shell: string, script: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(shell, ['-c', script], { encoding: 'utf8', env: { ...process.env, SCRIPT_DIR: dir } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Each command's visible long options, by its path after `spark-sync`. */
function visible(): Array<{ cmd: Command; path: string; longs: string[] }> {
  return commandTree(program()).map((cmd) => ({
    cmd,
    path: commandPath(cmd).split(' ').slice(1).join(' '),
    longs: cmd.createHelp().visibleOptions(cmd).map((o) => o.long!).filter(Boolean),
  }));
}

test('completion bash: a script naming every command, subcommand and option, that bash completes with', () => {
  const run = runBin(['completion', 'bash']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, '');
  const script = path.join(dir, 'spark-sync.bash');
  fs.writeFileSync(script, run.stdout);
  for (const { path: p, longs } of visible()) {
    if (p) assert.ok(run.stdout.includes(p.split(' ').at(-1)!), `mentions ${p}`);
    for (const long of longs) assert.ok(run.stdout.includes(` ${long}`), `mentions ${p || 'spark-sync'} ${long}`);
  }
  assert.equal(sh('bash', `bash -n "${script}"`).status, 0, 'valid bash');
  // What bash offers: COMP_WORDS as bash splits the line, the last word being completed.
  const complete = (...words: string[]) => {
    const r = sh('bash', `source "${script}"; COMP_WORDS=(spark-sync ${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length}; _spark_sync; printf '%s\\n' "\${COMPREPLY[@]}"`);
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean);
  };
  const commands = visible().filter((v) => v.path && !v.path.includes(' ')).map((v) => v.path);
  assert.deepEqual(complete('').filter((w) => w !== 'help').sort(), [...commands].sort());
  assert.deepEqual(complete('broker', ''), ['start', 'stop', 'help']);
  assert.deepEqual(complete('submit', '--kafka-'), ['--kafka-config', '--kafka-property']);
  assert.deepEqual(complete('preview', '--topic-'), ['--topic-partitions']);
  assert.deepEqual(complete('completion', ''), ['bash', 'zsh']);
  assert.ok(complete('submit', '--').includes('--log-format'), "a subcommand offers the root's options too");
  // An option's value is never taken for a command: `--topic status` is still submit.
  assert.ok(complete('--config', 'x.yaml', 'submit', '--topic', 'status', '--dry').includes('--dry-run'));
  assert.deepEqual(complete('submit', '--kafka-config', ''), [], "an option's value: bash's own file completion");
});

test('completion zsh: a script naming every command, subcommand and option, that zsh completes with', { skip: spawnSync('zsh', ['-c', 'true']).status !== 0 && 'no zsh here' }, () => {
  const run = runBin(['completion', 'zsh']);
  assert.equal(run.code, 0, run.stderr);
  const script = path.join(dir, '_spark-sync');
  fs.writeFileSync(script, run.stdout);
  assert.match(run.stdout, /^#compdef spark-sync\n/);
  for (const { path: p, longs } of visible()) {
    if (p) assert.ok(run.stdout.includes(`'${p.split(' ').at(-1)!}:`), `describes ${p}`);
    for (const long of longs) assert.ok(run.stdout.includes(`'${long}:`), `describes ${p || 'spark-sync'} ${long}`);
  }
  assert.equal(sh('zsh', `zsh -n "${script}"`).status, 0, 'valid zsh');
  // compsys's _describe and _files stand-ins print what would be offered.
  const complete = (...words: string[]) => {
    const r = sh('zsh', `compdef() { :; }; _describe() { print -rl -- "\${(@P)\${@[-1]}}"; }; _files() { print FILES; }
source "${script}"; words=(spark-sync ${words.map((w) => `'${w}'`).join(' ')}); CURRENT=${words.length + 1}; _spark_sync`);
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean).map((l) => l.split(':')[0]);
  };
  assert.ok(complete('').includes('submit') && complete('').includes('version'));
  assert.deepEqual(complete('broker', ''), ['start', 'stop', 'help']);
  assert.ok(complete('submit', '--').includes('--kafka-property') && complete('submit', '--').includes('-X'));
  assert.deepEqual(complete('submit', '--kafka-config', ''), ['FILES']);
  assert.ok(complete('--config', 'x.yaml', 'submit', '--topic', 'status', '--').includes('--dry-run'));
});

test('version prints the version as --version does; version --verbose prints Spark, Scala, Java, SPARK_HOME and the jar cache, then a JSON summary', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.deepEqual(runBin(['version']), { code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  assert.equal(runBin(['--version']).stdout, `${pkg.version}\n`);
  assert.equal(runBin(['version'], { SPARK_SYNC_VERBOSE: '1' }).stdout, `${pkg.version}\n`, 'verbose logs asked for by the environment leave it plain');

  // What the driver's classpath holds: spark-core_<scala>-<spark>.jar among jars/spark (a clone) or the manifest (a package).
  const sparkDir = path.join(ROOT, 'jars', 'spark');
  const core = fs.existsSync(sparkDir) ? fs.readdirSync(sparkDir).map((j) => /^spark-core_(\d+\.\d+)-(\d+\.\d+\.\d+)\.jar$/.exec(j)).find(Boolean) : undefined;
  const run = runBin(['version', '--verbose']);
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stdout.trim().split('\n');
  const summary = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
  assert.equal(summary.command, 'version');
  assert.equal(summary.version, pkg.version);
  assert.equal(summary.spark_home, null);
  assert.equal(summary.jar_cache, path.join(dir, 'home', 'jars'));
  assert.match(lines[0], new RegExp(`^spark-sync ${pkg.version.replace(/\./g, '\\.')}$`));
  assert.ok(lines.some((l) => l.startsWith('SPARK_HOME: unset')), run.stdout);
  assert.ok(lines.some((l) => l === `jar cache:  ${path.join(dir, 'home', 'jars')} (${summary.jar_cache_used ? 'in use' : 'not used: this spark-sync runs on its own built jars/'})`), run.stdout);
  if (core) {
    assert.equal(summary.spark_version, core[2]);
    assert.equal(summary.scala_version, core[1]);
    assert.ok(lines.includes(`Spark:      ${core[2]}`) && lines.includes(`Scala:      ${core[1]}`), run.stdout);
  }
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (java.status === 0 && !process.env.JAVA_HOME) {
    const v = /version "([^"]+)"/.exec(java.stderr)![1];
    assert.equal(summary.java_version, v);
    assert.ok(lines.includes(`Java:       ${v} (java on PATH)`), run.stdout);
  }
  // A SPARK_HOME that is no Spark: reported, not fatal.
  const bogus = runBin(['version', '--verbose'], { SPARK_HOME: dir });
  assert.equal(bogus.code, 0, bogus.stderr);
  const b = JSON.parse(bogus.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
  assert.equal(b.spark_home, dir);
  assert.equal(b.spark_version, null);
  assert.match(bogus.stdout, /^Spark: {6}unknown \(SPARK_HOME=.* has no jars\/ folder/m);
});

test('one meaning per flag: --partitions is submit\'s topic creation only (preview says --topic-partitions); --rows counts rows in sample, preview and demo', () => {
  const byFlag = (long: string) => visible().filter((v) => v.longs.includes(long)).map((v) => v.path).sort();
  assert.deepEqual(byFlag('--partitions'), ['submit']);
  assert.deepEqual(byFlag('--topic-partitions'), ['preview']);
  assert.deepEqual(byFlag('--rows'), ['demo', 'preview', 'sample']);
  assert.deepEqual(byFlag('--records'), [], '--records is nowhere in --help');
  // The old names answer with the new one, before anything starts.
  const preview = runBin(['preview', '--source', dir, '--partitions', '3']);
  assert.equal(preview.code, 2);
  assert.equal(preview.stderr, "spark-sync: error [USAGE]: preview's --partitions is now --topic-partitions; pass --topic-partitions <n>; --partitions is submit's, the partitions of a topic it creates\n");
  const bad = runBin(['preview', '--source', dir, '--topic-partitions', '0']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^spark-sync: error \[USAGE\]: --topic-partitions must be at least 1;/);
  // demo validates --rows (or the hidden --records) before it starts a broker or clears its folder.
  const keep = path.join(dir, 'home', 'demo', 'keep');
  fs.mkdirSync(path.dirname(keep), { recursive: true });
  fs.writeFileSync(keep, '');
  for (const [args, message] of [
    [['demo', '--rows', '0'], "--rows must be a whole number ≥ 1, not '0'"],
    [['demo', '--records', 'x'], "--records must be a whole number ≥ 1, not 'x'"],
    [['demo', '--rows', '5', '--records', '6'], '--records is the old name of --rows, and they differ; pass --rows alone'],
  ] as const) {
    const run = runBin([...args]);
    assert.equal(run.code, 2, run.stderr);
    assert.equal(run.stderr, `spark-sync: error [USAGE]: ${message}\n`);
  }
  assert.ok(fs.existsSync(keep), "a refused demo leaves $SPARK_SYNC_HOME/demo alone");
});
