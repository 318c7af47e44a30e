import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * File systems that fail the way real disks do: a read-only folder and a full disk. Tests run as
 * root (CI too), so permissions cannot make a file read-only or a write fail; mounts can. Each
 * mount returns its unmount, which the test must call in `after` or `finally`.
 */

/** Why mount tests cannot run here (not root, or mounts not permitted), or undefined if they can. */
export const mountSkipReason: string | undefined = probe();

function probe(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root: the test mounts a tmpfs or a read-only bind mount';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spark-sync-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'pipe' });
    execFileSync('umount', [dir], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `mount is not permitted here (${String((err as { stderr?: Buffer }).stderr ?? err).trim()})`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Makes `dir` read-only in place (a bind mount of itself, remounted read-only). */
export function mountReadOnly(dir: string): () => void {
  execFileSync('mount', ['--bind', dir, dir], { stdio: 'pipe' });
  try {
    execFileSync('mount', ['-o', 'remount,ro,bind', dir], { stdio: 'pipe' });
  } catch (err) {
    unmount(dir);
    throw err;
  }
  return once(() => unmount(dir));
}

/** Mounts an empty tmpfs of `size` (e.g. '1m') on `dir`. */
export function mountTmpfs(dir: string, size: string): () => void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
  return once(() => unmount(dir));
}

function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    // Still busy (a file left open by a failed test): detach it now, it goes when released.
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
  }
}

function once(f: () => void): () => void {
  let done = false;
  return () => {
    if (!done) {
      done = true;
      f();
    }
  };
}
