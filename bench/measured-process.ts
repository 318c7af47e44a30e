import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../src/config/paths';
import type { SparkTask } from './spark-task';

/** The CLI every benchmark runs, as a user would. */
export const CLI = path.join(PACKAGE_ROOT, 'bin', 'spark-sync.js');

/** A benchmark's progress lines on stderr: `[name HH:MM:SS] message`. */
export function benchLog(name: string): (message: string) => void {
  return (message) => process.stderr.write(`[${name} ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}


export interface Measured {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Wall time from spawn to exit: JVM and Spark start-up included. */
  seconds: number;
  /** When the process was spawned (epoch ms), to line it up with Spark's event log. */
  startedAtMs: number;
  /** Peak resident set of the process (VmHWM), in MiB; the JVM runs inside the driver process. */
  peakRssMb: number;
  /** CPU seconds (user + system) the process used, as last read before it exited (every 100 ms). */
  cpuSeconds: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs one command and measures it: wall seconds, and peak RSS read from /proc/<pid>/status
 * every 100 ms (VmHWM only grows, so the last reading before exit is the peak up to then).
 */
export function runMeasured(command: string, args: string[], env: Record<string, string> = {}, timeoutMs = 3_600_000): Promise<Measured> {
  const started = process.hrtime.bigint();
  const startedAtMs = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let peakKb = 0;
    let cpu = 0;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const poll = setInterval(() => {
      peakKb = Math.max(peakKb, vmHwmKb(child.pid!));
      cpu = Math.max(cpu, processCpuSeconds(child.pid!));
    }, 100);
    const killGroup = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    };
    const timer = setTimeout(killGroup, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearInterval(poll);
      clearTimeout(timer);
      killGroup(); // a SIGKILLed driver leaves nothing behind, but be sure
      resolve({ code, signal, startedAtMs, seconds: Number(process.hrtime.bigint() - started) / 1e9, peakRssMb: Math.round(peakKb / 1024), cpuSeconds: cpu, stdout, stderr });
    });
  });
}

/** CPU seconds (user + system) of a running process from /proc/<pid>/stat; 0 once it is gone. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is the 3rd, utime the 14th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** sysconf(_SC_CLK_TCK): 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

function vmHwmKb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** The JSON log lines of a spark-sync run's stderr with the given message. */
export function logLines(stderr: string, msg: string): Array<Record<string, unknown>> {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{') && l.includes(`"msg":"${msg}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Runs one Spark task of the benchmark in a child process (bench/spark-task.ts) and returns its JSON result. */
export async function sparkTask(t: SparkTask): Promise<Record<string, unknown>> {
  const m = await runMeasured(process.execPath, [path.join(__dirname, 'spark-task.js'), t.task, JSON.stringify(t)]);
  must(m, `bench task ${t.task}`);
  return JSON.parse(lastLine(m.stdout)) as Record<string, unknown>;
}

export function must(m: Measured, what: string): void {
  if (m.code !== 0) throw new Error(`${what} failed (exit ${m.code ?? m.signal}): ${lastLine(m.stderr)}`);
}

export function lastLine(text: string): string {
  return text.trim().split('\n').pop() ?? '';
}
