// A node:test reporter that prints, at the end of a run, the ten slowest tests and the time each
// test file took, so the suite's cost stays visible as it grows. Used beside the TAP reporter:
//   node --test --test-reporter=tap --test-reporter-destination=stdout \
//        --test-reporter=./scripts/slowest-tests.mjs --test-reporter-destination=stderr …
// test/run-suite.ts runs each file in a `node --test` of its own and sets
// SPARK_SYNC_SLOWEST_TESTS_OUT to a file per run: the reporter writes its tests' times there and
// prints nothing; the runner prints one summary of all of them.
import fs from 'node:fs';
import path from 'node:path';

export default async function* slowestTests(source) {
  const tests = [];
  const files = new Map();
  const started = Date.now();
  let lastAt = started;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { name, details, file } = event.data;
    const ms = details?.duration_ms ?? 0;
    if (details?.type !== 'suite' && !event.data.skip) tests.push({ name, ms, file: file ? path.basename(file) : '' });
    // A file's time: from the previous file's last result to its own last (its hooks included);
    // files run one after another, and their results arrive as they finish.
    if (file) {
      const now = Date.now();
      const entry = files.get(file) ?? { since: lastAt, last: now };
      entry.last = now;
      files.set(file, entry);
      lastAt = now;
    }
  }
  // Under test/run-suite.ts each job writes its figures to a file of its own, and the runner
  // prints one summary over all of them at the end.
  const collect = process.env.SPARK_SYNC_SLOWEST_TESTS_OUT;
  if (collect) {
    fs.writeFileSync(collect, JSON.stringify({ tests }));
    return;
  }
  const fmt = (ms) => `${(ms / 1000).toFixed(1).padStart(7)} s`;
  yield `\n# the ten slowest tests (of ${tests.length}):\n`;
  for (const t of [...tests].sort((a, b) => b.ms - a.ms).slice(0, 10)) yield `#  ${fmt(t.ms)}  ${t.name.slice(0, 110)}  [${t.file}]\n`;
  if (files.size > 0) {
    yield '# per file:\n';
    const spans = [...files].map(([file, e]) => [file, e.last - e.since]);
    for (const [file, ms] of spans.sort((a, b) => b[1] - a[1])) yield `#  ${fmt(ms)}  ${path.basename(file)}\n`;
  }
  yield `# wall time: ${fmt(Date.now() - started)}\n`;
}
