import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { PACKAGE_ROOT } from '../../src/config/paths';
import { fromJavaError } from '../../src/errors/java-errors';
import { JOB_ERROR_CODES } from '../../src/errors/spark-sync-error';

/** The constants of `JobException.Code`, read from the Java source the job jar is built from. */
function javaCodes(): string[] {
  const java = fs.readFileSync(path.join(PACKAGE_ROOT, 'spark-jobs/src/main/java/io/sparksync/jobs/JobException.java'), 'utf8');
  const body = /enum Code\s*\{([\s\S]*?)\}/.exec(java);
  assert.ok(body, 'JobException declares enum Code');
  const withoutComments = body![1].replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  return withoutComments.split(/[,;]/).map((c) => c.trim()).filter(Boolean);
}

test('the Spark job and the driver share one list of error codes', () => {
  assert.deepEqual([...javaCodes()].sort(), [...JOB_ERROR_CODES].sort());
});

test('every code the job can raise arrives as a typed error with that code and a documented exit code', () => {
  for (const code of javaCodes()) {
    const err = fromJavaError(new Error(`io.sparksync.jobs.JobException: SPARK_SYNC[${code}]: something happened`), 'a test');
    assert.equal(err.code, code);
    assert.ok([2, 3, 4].includes(err.exitCode), `${code} → exit ${err.exitCode}`);
  }
});
