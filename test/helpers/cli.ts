import { spawn } from 'node:child_process';
import path from 'node:path';

const BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'spark-sync.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout's last line, parsed: the run's JSON summary. */
  summary: Record<string, unknown>;
  /** stderr's JSON log lines, parsed. */
  logs: Array<Record<string, unknown>>;
  seconds: number;
  /**
   * The run outlived its `timeoutMs` and was SIGKILLed for it: a hung run, never a crash a test
   * meant to cause (those report `signal` SIGKILL with this false).
   */
  timedOut: boolean;
}

/** Asserts the run died of a kill the test meant to cause, not of its timeout or on its own. */
export function assertKilledOnPurpose(run: CliResult, what: string): void {
  if (run.timedOut) throw new Error(`${what}: the run hung and was killed by its timeout, not by the test's kill; stderr: ${run.stderr.slice(-800)}`);
  if (run.signal !== 'SIGKILL') throw new Error(`${what}: expected a SIGKILL, the run ended with ${run.signal ?? `exit ${run.code}`}; stderr: ${run.stderr.slice(-800)}`);
}

/** A `submit` that must have succeeded: its summary (stdout's last line), with the counts natural keys report. */
export function submitSummary(run: CliResult): { recordsSent: number; duplicates: number; replayed: number } {
  if (run.code !== 0) throw new Error(`the submit exited ${run.signal ?? run.code}; stderr: ${run.stderr.slice(-2000)}`);
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { recordsSent: number; duplicates: number; replayed: number };
}

/**
 * Runs the real CLI in a child process, as a scheduler would (stdout and stderr not a TTY), in a
 * process group of its own. `killAfterMs` SIGKILLs the whole group at that moment, JVM included.
 */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  options: {
    timeoutMs?: number;
    killAfterMs?: number;
    killAfterLog?: { msg: string; delayMs: number };
    /** Runs once, when a JSON log line with this `msg` appears, with that line parsed. */
    onLog?: { msg: string; run: (line: Record<string, unknown>) => void };
    /**
     * Called once the CLI runs, with a function that SIGKILLs its whole process group, and one
     * that sends any signal to the CLI's process (or, with `group`, to its whole group).
     */
    onStart?: (killGroup: () => void, signal: (name: NodeJS.Signals, group?: boolean) => void) => void;
    /** The working directory (as Airflow gives a task a temporary one); the test's own by default. */
    cwd?: string;
  } = {},
): Promise<CliResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true, cwd: options.cwd });
    const killGroup = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    options.onStart?.(killGroup, (name, group = false) => process.kill(group ? -child.pid! : child.pid!, name));
    const killer = options.killAfterMs === undefined ? undefined : setTimeout(killGroup, options.killAfterMs);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    let logKiller: NodeJS.Timeout | undefined;
    let onLogRan = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      // Arms the kill when the log line appears: a random moment measured from a known phase.
      if (options.killAfterLog && logKiller === undefined && stderr.includes(`"msg":"${options.killAfterLog.msg}"`)) {
        logKiller = setTimeout(killGroup, options.killAfterLog.delayMs);
      }
      if (options.onLog && !onLogRan && stderr.includes(`"msg":"${options.onLog.msg}"`)) {
        const line = stderr.split('\n').find((l) => l.includes(`"msg":"${options.onLog!.msg}"`) && l.endsWith('}'));
        if (line) {
          onLogRan = true;
          options.onLog.run(JSON.parse(line) as Record<string, unknown>);
        }
      }
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, options.timeoutMs ?? 300_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killer);
      clearTimeout(logKiller);
      const lastLine = stdout.trim().split('\n').pop() ?? '';
      let summary: Record<string, unknown> = {};
      try {
        summary = JSON.parse(lastLine) as Record<string, unknown>;
      } catch {
        /* no summary: left empty for the test to assert on */
      }
      const logs = stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ code, signal, stdout, stderr, summary, logs, seconds: (Date.now() - started) / 1000, timedOut });
    });
  });
}
