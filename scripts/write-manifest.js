#!/usr/bin/env node
// Writes jars/manifest.json when the package is packed (`npm pack`, `npm publish`: the prepack
// script, after `npm run build`). A packed spark-sync carries only its job jar; the manifest names
// every other jar of jars/spark and jars/kafka by Maven coordinates, size and SHA-1, so that an
// installed copy fetches exactly these bytes from Maven Central into its jar cache
// (src/install/jar-cache.ts). The coordinates come from Maven itself (`dependency:list` of the
// modules whose copy-dependencies filled those folders); each jar's SHA-1 is computed from the
// copy in jars/ and checked against the local repository's file and the .sha1 that Maven
// downloaded with it.
'use strict';
const { createHash } = require('node:crypto');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const modules = [
  { folder: 'spark', pom: 'spark-jobs/pom.xml' },
  { folder: 'kafka', pom: 'spark-jobs/dev-services/pom.xml' },
];
/** The package's own jar: shipped inside it. */
const PACKAGED = new Set(['spark-sync-jobs.jar']);
/** Jars build-jars.js copies from Spark's distribution (PyPI pyspark), not from Maven. */
const LEFT_OUT = [
  {
    match: /^(spark-yarn_2\.12-|hadoop-yarn-server-web-proxy-)/,
    reason: 'copied by build-jars.js from Spark\'s distribution for --master yarn; spark-yarn_2.12 3.5.7 is not published on Maven Central, so an installed spark-sync runs YARN with SPARK_HOME',
  },
];

function fail(message) {
  console.error(`spark-sync manifest: ${message}`);
  process.exit(1);
}

function sha1(file) {
  return createHash('sha1').update(fs.readFileSync(file)).digest('hex');
}

/** group:artifact:type[:classifier]:version:scope:/abs/path.jar[ -- module …] → coordinates and file. */
function resolvedArtifacts(pom) {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'spark-sync-deps-')), 'deps.txt');
  const r = spawnSync('mvn', ['-q', '-B', '-Dstyle.color=never', '-f', pom, 'dependency:list', '-DincludeScope=runtime', '-DoutputAbsoluteArtifactFilename=true', `-DoutputFile=${out}`, '-DappendOutput=false'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) fail(`mvn dependency:list failed for ${pom} (exit ${r.status})`);
  const artifacts = new Map();
  for (const line of fs.readFileSync(out, 'utf8').split('\n')) {
    const spec = line.trim().split(/\s+/)[0];
    if (!spec || !spec.includes(':') || !spec.endsWith('.jar')) continue;
    const parts = spec.split(':');
    const [groupId, artifactId, type] = parts;
    const withClassifier = parts.length >= 7;
    const classifier = withClassifier ? parts[3] : undefined;
    const version = parts[withClassifier ? 4 : 3];
    const file = parts.slice(withClassifier ? 6 : 5).join(':');
    if (type !== 'jar') continue;
    artifacts.set(path.basename(file), { groupId, artifactId, version, ...(classifier ? { classifier } : {}), repositoryFile: file });
  }
  fs.rmSync(path.dirname(out), { recursive: true, force: true });
  return artifacts;
}

const manifest = {
  format: 1,
  package: `${require('../package.json').name}@${require('../package.json').version}`,
  created: new Date().toISOString(),
  repository: 'https://repo1.maven.org/maven2',
  packaged: [],
  jars: [],
  leftOut: [],
};

for (const { folder, pom } of modules) {
  const dir = path.join(root, 'jars', folder);
  if (!fs.existsSync(dir)) fail(`${path.relative(root, dir)} is missing: run \`npm run build:jars\` first`);
  const artifacts = resolvedArtifacts(pom);
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.jar')).sort()) {
    const jar = path.join(dir, file);
    const digest = sha1(jar);
    const size = fs.statSync(jar).size;
    if (PACKAGED.has(file)) {
      manifest.packaged.push({ folder, file, sha1: digest, size });
      continue;
    }
    const left = LEFT_OUT.find((l) => l.match.test(file));
    if (left) {
      manifest.leftOut.push({ folder, file, reason: left.reason });
      continue;
    }
    const a = artifacts.get(file);
    if (!a) fail(`jars/${folder}/${file} is not among the artifacts Maven resolves for ${pom}: rebuild jars/ with \`npm run build:jars\``);
    if (sha1(a.repositoryFile) !== digest) fail(`jars/${folder}/${file} differs from ${a.repositoryFile}: rebuild jars/ with \`npm run build:jars\``);
    const published = `${a.repositoryFile}.sha1`;
    if (fs.existsSync(published)) {
      const expected = fs.readFileSync(published, 'utf8').trim().split(/\s+/)[0].toLowerCase();
      if (expected !== digest) fail(`${a.repositoryFile} has SHA-1 ${digest}, but the repository published ${expected}`);
    }
    const { repositoryFile, ...coordinates } = a;
    manifest.jars.push({ folder, file, ...coordinates, sha1: digest, size });
  }
}

if (!manifest.packaged.some((p) => p.file === 'spark-sync-jobs.jar')) fail('jars/spark/spark-sync-jobs.jar is missing: run `npm run build:jars` first');
// Every jar that travels to executors must be reachable in an installed copy.
const shipList = path.join(root, 'jars', 'spark', 'ship-to-executors.txt');
if (!fs.existsSync(shipList)) fail('jars/spark/ship-to-executors.txt is missing: run `npm run build:jars` first');
for (const name of fs.readFileSync(shipList, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean)) {
  if (!PACKAGED.has(name) && !manifest.jars.some((j) => j.folder === 'spark' && j.file === name)) fail(`${name} (ship-to-executors.txt) is not in the manifest`);
}

// One jar a line: readable, and a diff between two packs shows what changed.
const line = (o) => `    ${JSON.stringify(o)}`;
const text = [
  '{',
  ...['format', 'package', 'created', 'repository'].map((k) => `  ${JSON.stringify(k)}: ${JSON.stringify(manifest[k])},`),
  ...['packaged', 'jars', 'leftOut'].map((k, i, all) => `  ${JSON.stringify(k)}: [\n${manifest[k].map(line).join(',\n')}\n  ]${i < all.length - 1 ? ',' : ''}`),
  '}',
  '',
].join('\n');
JSON.parse(text);
fs.writeFileSync(path.join(root, 'jars', 'manifest.json'), text);
const bytes = (folder) => manifest.jars.filter((j) => j.folder === folder).reduce((a, j) => a + j.size, 0);
const distinct = new Set(manifest.jars.map((j) => `${j.groupId}:${j.artifactId}:${j.version}:${j.classifier ?? ''}`));
console.error(`spark-sync manifest: jars/manifest.json: ${manifest.jars.filter((j) => j.folder === 'spark').length} jars of jars/spark (${(bytes('spark') / 1e6).toFixed(0)} MB), ${manifest.jars.filter((j) => j.folder === 'kafka').length} of jars/kafka (${(bytes('kafka') / 1e6).toFixed(0)} MB), ${distinct.size} distinct; left out: ${manifest.leftOut.map((l) => l.file).join(', ') || 'none'}`);
