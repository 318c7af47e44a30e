import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Command } from 'commander';
import { commandPath, commandTree } from '../../src/cli/command-tree';
import { program } from '../../src/cli/main';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'spark-sync-errors-'));

/** The real CLI binary, as a scheduler runs it: no SPARK_SYNC_* of the test's own environment, a home of its own. */
function runBin(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SPARK_SYNC_')));
  const bin = path.resolve(__dirname, '..', '..', '..', 'bin', 'spark-sync.js');
  const r = spawnSync(process.execPath, [bin, ...args], { env: { ...env, SPARK_SYNC_HOME: home }, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("commander's own parse errors come out as spark-sync's one error line, exit 2 and the JSON summary as stdout's last line", () => {
  const cases: Array<[string[], string, string]> = [
    [['submit', '--bogus'], "unknown option '--bogus'", 'spark-sync submit'],
    [['submit', '--topc', 't'], "unknown option '--topc' (Did you mean --topic?)", 'spark-sync submit'],
    [['submit', '--topic'], "option '--topic <topic>' argument missing", 'spark-sync submit'],
    [['--bogus'], "unknown option '--bogus'", 'spark-sync'],
    [['bogus'], "unknown command 'bogus'", 'spark-sync'],
    [['help', 'bogus'], "unknown command 'bogus'", 'spark-sync'],
    [['broker', 'bogus'], "unknown command 'bogus'", 'spark-sync broker'],
    [['broker', 'start', '--port'], "option '--port <port>' argument missing", 'spark-sync broker start'],
    [['sample', '--output', 'x.parquet', '--format', 'xls'], "option '--format <format>' argument 'xls' is invalid. Allowed choices are parquet, orc", 'spark-sync sample'],
    [['sample'], "required option '--output <file>' not specified", 'spark-sync sample'],
    [['completion', 'fish'], "command-argument value 'fish' is invalid for argument 'shell'. Allowed choices are bash, zsh", 'spark-sync completion'],
    [['status', 'extra'], "too many arguments for 'status'. Expected 0 arguments but got 1", 'spark-sync status'],
    [[], 'spark-sync needs a command: submit, status, verify, reset, doctor, broker, demo, sample, install-jars, preview, completion, version', 'spark-sync'],
    [['broker'], 'spark-sync broker needs a command: start, stop', 'spark-sync broker'],
  ];
  for (const [args, message, command] of cases) {
    const run = runBin(args);
    const line = `${message}; run \`${command} --help\` for usage`;
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.equal(run.stderr, `spark-sync: error [USAGE]: ${line}\n`, `${args.join(' ')}: exactly one line on stderr`);
    assert.equal(run.stdout, `${JSON.stringify({ ok: false, error: { code: 'USAGE', exit_code: 2, retriable: false, message: line } })}\n`, `${args.join(' ')}: the summary is stdout's only line`);
  }
});

test('--help and --version still print normally and exit 0', () => {
  const version = (JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  for (const args of [['--version'], ['-V']]) {
    const run = runBin(args);
    assert.deepEqual(run, { code: 0, stdout: `${version}\n`, stderr: '' }, args.join(' '));
  }
  for (const args of [['--help'], ['submit', '--help'], ['broker', 'start', '-h'], ['help', 'verify']]) {
    const run = runBin(args);
    assert.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`);
    assert.equal(run.stderr, '');
    assert.match(run.stdout, /^Usage: spark-sync/);
    assert.match(run.stdout, /\n\nExit codes: 0 [^\n]*(\n {2}[^\n]*)*\.\n$/, `${args.join(' ')}: the exit codes come last`);
  }
});

/** A command's help as --help prints it. */
function helpOf(cmd: Command): string {
  let help = '';
  cmd.configureOutput({ writeOut: (s) => (help += s) });
  cmd.outputHelp();
  return help;
}

test("every command's --help ends with an `Exit codes:` line listing only the codes it can return", () => {
  const expected: Record<string, number[]> = {
    'spark-sync': [0, 1, 2, 3, 4, 5, 6],
    'spark-sync submit': [0, 1, 2, 3, 4, 6],
    'spark-sync status': [0, 1, 2, 3],
    'spark-sync verify': [0, 1, 2, 3, 5],
    'spark-sync reset': [0, 1, 2, 3, 4, 6],
    'spark-sync doctor': [0, 1, 2, 3],
    'spark-sync broker': [0, 1, 2, 3],
    'spark-sync broker start': [0, 1, 2, 3],
    'spark-sync broker stop': [0, 1, 2],
    'spark-sync demo': [0, 1, 2, 3, 5, 6],
    'spark-sync sample': [0, 1, 2],
    'spark-sync install-jars': [0, 1, 2],
    'spark-sync preview': [0, 1, 2, 3],
    'spark-sync completion': [0, 1, 2],
    'spark-sync version': [0, 1, 2],
  };
  const commands = commandTree(program());
  assert.deepEqual(commands.map(commandPath).sort(), Object.keys(expected).sort(), 'the table names every command');
  for (const cmd of commands) {
    const name = commandPath(cmd);
    const last = helpOf(cmd).trimEnd().split('\n\n').at(-1)!;
    assert.match(last, /^Exit codes: 0 /, `${name} --help ends with its exit codes`);
    // One paragraph: `Exit codes: 0 …; 1 …`, wrapped with indented continuation lines.
    assert.ok(last.split('\n').slice(1).every((l) => l.startsWith('  ')), `${name}: one Exit codes line, continued by indented lines`);
    const line = last.replace(/\n {2}/g, ' ');
    const codes = [...line.matchAll(/(?:^Exit codes: |; )(\d) /g)].map((m) => Number(m[1]));
    assert.deepEqual(codes, expected[name], `${name} lists the codes it can return`);
    // Every command can be called wrongly, and a bug is always possible.
    assert.match(line, /; 1 internal error \(a bug: rerun with --verbose and report it\); 2 /, name);
    assert.doesNotMatch(last, /\d\n/, `${name}: a code is never cut from its meaning`);
  }
});
