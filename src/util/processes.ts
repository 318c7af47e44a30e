import fs from 'node:fs';

/**
 * Whether a process is running. A zombie (exited, not yet reaped) counts as gone: with a JVM in
 * this process, Node may not reap its own children promptly, and `kill(pid, 0)` still succeeds
 * on a zombie.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Sends `signal` to the process group `pid` leads (a child started with `detached: true`: a JVM
 * and whatever it forked), or to the process alone if it leads none; nothing if it is gone.
 */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}
