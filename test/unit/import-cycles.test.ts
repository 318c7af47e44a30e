import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

/**
 * No module of src/ imports itself through others, type-only imports included: a circle means
 * two concepts that cannot be read (or changed) apart. Reads the TypeScript sources, not dist.
 */
const SRC = path.resolve(__dirname, '..', '..', '..', 'src');

function modules(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? modules(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'/gm)) {
    const target = path.resolve(path.dirname(file), m[1]);
    if (fs.existsSync(`${target}.ts`)) out.push(`${target}.ts`);
    else if (fs.existsSync(path.join(target, 'index.ts'))) out.push(path.join(target, 'index.ts'));
  }
  return out;
}

test('src/ has no import circles', () => {
  const graph = new Map(modules(SRC).map((f) => [f, importsOf(f)]));
  const circles: string[] = [];
  const done = new Set<string>();
  const stack: string[] = [];
  const visit = (f: string) => {
    stack.push(f);
    for (const next of graph.get(f) ?? []) {
      const at = stack.indexOf(next);
      if (at >= 0) circles.push(stack.slice(at).concat(next).map((x) => path.relative(SRC, x)).join(' → '));
      else if (!done.has(next)) visit(next);
    }
    stack.pop();
    done.add(f);
  };
  for (const f of graph.keys()) if (!done.has(f)) visit(f);
  assert.ok(graph.size > 50, `read ${graph.size} modules`);
  assert.deepEqual(circles, []);
});
