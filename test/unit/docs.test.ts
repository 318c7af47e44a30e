import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ErrorCode, SparkSyncError } from '../../src/errors/spark-sync-error';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const README = path.join(ROOT, 'README.md');
const DOCS = path.join(ROOT, 'docs');

/** README.md and every page of docs/. */
function pages(): string[] {
  return [README, ...fs.readdirSync(DOCS).filter((f) => f.endsWith('.md')).sort().map((f) => path.join(DOCS, f))];
}

/** The text a reader sees as prose: fenced code blocks and inline code removed (their brackets are not links). */
function prose(text: string): string {
  return text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`+[^`\n]*`+/g, '');
}

/** Every link target of a markdown page: inline `[text](target "title")` and reference `[id]: target`. */
function links(text: string): string[] {
  const body = prose(text);
  const inline = [...body.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]);
  const reference = [...body.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)].map((m) => m[1]);
  return [...inline, ...reference];
}

/** GitHub's heading anchors of a page: lower case, punctuation but `-` and `_` dropped, spaces as `-`, repeats numbered. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = m[1].replace(/`/g, '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').trim().replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target);

test('README.md fits a first read: at most 250 lines', () => {
  const lines = fs.readFileSync(README, 'utf8').replace(/\n$/, '').split('\n').length;
  assert.ok(lines <= 250, `README.md has ${lines} lines`);
});

test('the pages the README promises exist', () => {
  for (const page of ['cli', 'configuration', 'keys', 'guarantees', 'cluster', 'operations', 'troubleshooting', 'performance', 'internals']) {
    assert.ok(fs.existsSync(path.join(DOCS, `${page}.md`)), `docs/${page}.md is missing`);
  }
});

test('every relative link in README.md and docs/*.md resolves to an existing file, and every anchor to a heading', () => {
  const broken: string[] = [];
  for (const page of pages()) {
    const name = path.relative(ROOT, page);
    for (const target of links(fs.readFileSync(page, 'utf8'))) {
      if (isExternal(target)) continue;
      const [file, anchor] = target.split('#', 2);
      const resolved = file === '' ? page : path.resolve(path.dirname(page), decodeURIComponent(file));
      if (!fs.existsSync(resolved)) {
        broken.push(`${name}: ${target} (no such file)`);
        continue;
      }
      if (anchor !== undefined && resolved.endsWith('.md') && !anchors(fs.readFileSync(resolved, 'utf8')).has(anchor)) {
        broken.push(`${name}: ${target} (no such heading)`);
      }
    }
  }
  assert.deepEqual(broken, []);
});

test('no page links outside the repository to ../shared', () => {
  for (const page of pages()) {
    const text = fs.readFileSync(page, 'utf8');
    const outside = links(text).filter((t) => t.includes('../shared') || t.includes('shared/DESIGN.md'));
    assert.deepEqual(outside, [], `${path.relative(ROOT, page)} links to ${outside.join(', ')}`);
    assert.ok(!text.includes('../shared/'), `${path.relative(ROOT, page)} mentions ../shared/`);
  }
});

test('docs/troubleshooting.md has a section for every error code, with its exit code', () => {
  // The codes as the error module maps them to exit codes: every key of its EXIT_CODE_OF table.
  const source = fs.readFileSync(path.join(ROOT, 'src', 'errors', 'spark-sync-error.ts'), 'utf8');
  const table = /const EXIT_CODE_OF[^{]*\{([\s\S]*?)\n\};/.exec(source);
  assert.ok(table, 'EXIT_CODE_OF not found in src/errors/spark-sync-error.ts');
  const codes = [...table[1].matchAll(/^\s*([A-Z_]+):\s*ExitCode\./gm)].map((m) => m[1] as ErrorCode);
  assert.ok(codes.length > 20, `only ${codes.length} codes found`);
  const page = fs.readFileSync(path.join(DOCS, 'troubleshooting.md'), 'utf8');
  const missing = codes.map((code) => `### \`${code}\` (exit ${new SparkSyncError(code, 'x').exitCode})`).filter((heading) => !page.includes(heading));
  assert.deepEqual(missing, []);
});

test('docs/cli.md is what scripts/gen-cli-docs.js generates from the current --help', () => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'gen-cli-docs.js'), '--check'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stderr}${r.stdout}`);
});
