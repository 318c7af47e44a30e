import fs from 'node:fs';
import path from 'node:path';

/**
 * The live processes that belong to a fixture folder: their working directory lies under `dir`
 * or their command line names a path under it. Executors and YARN containers are launched by
 * the daemons, not by the test, so this is how a fixture proves on stop that none is left.
 */
export function processesUnder(dir: string): number[] {
  const root = path.resolve(dir);
  const under = (p: string) => p === root || p.startsWith(root + path.sep);
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') continue;
      const cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
      const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (under(cwd) || args.some((a) => a.split(/[=:,]/).some(under))) found.push(pid);
    } catch {
      /* gone meanwhile, or not ours to read */
    }
  }
  return found;
}
