#!/usr/bin/env node
// npm's `prepare`. A plain `npm install` in a git clone builds everything, as always: TypeScript,
// the Spark job and jars/ (`npm run build`, with Maven). During `npm pack` and `npm publish` npm
// runs `prepare` again right after `prepack`, which has just built the same and written
// jars/manifest.json from it: building once more would only replace the job jar the manifest
// describes. An installed package (a tarball or the registry) never runs `prepare`.
'use strict';
const { spawnSync } = require('node:child_process');

if (process.env.npm_command === 'pack' || process.env.npm_command === 'publish') {
  console.error(`spark-sync: prepare: nothing to do during npm ${process.env.npm_command} (prepack built the package)`);
  process.exit(0);
}
const npm = process.env.npm_execpath;
const r = npm ? spawnSync(process.execPath, [npm, 'run', 'build'], { stdio: 'inherit' }) : spawnSync('npm', ['run', 'build'], { stdio: 'inherit', shell: process.platform === 'win32' });
process.exit(r.status ?? 1);
