import pino from 'pino';

/** `text` for a person at a terminal, `json` (JSON lines) for machines. */
export type LogFormat = 'text' | 'json';

export interface LoggerOptions {
  /** `json` gives JSON lines without control characters (default unless stdout and stderr are TTYs). */
  format?: LogFormat;
  verbose?: boolean;
}

/** The narrow slice of a logger spark-sync uses; pino underneath. */
export interface Logger {
  debug(fields: object, msg: string): void;
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

/** Text for a person at a terminal; JSON lines for anything else (a scheduler, a pipe, a file). */
export function defaultLogFormat(): LogFormat {
  return process.stdout.isTTY && process.stderr.isTTY ? 'text' : 'json';
}

/**
 * Logs go to stderr, always: stdout belongs to the caller, and its last line is the run's JSON
 * summary. Writes are synchronous so nothing is lost when the process exits right after.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const format = options.format ?? defaultLogFormat();
  const level = options.verbose ? 'debug' : 'info';
  const base = { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime };
  if (format === 'json') {
    return pino(base, pino.destination({ dest: 2, sync: true }));
  }
  return pino(base, { write: (line: string) => textSink(toText(line)) });
}

let textSink: (text: string) => void = (text) => process.stderr.write(text);

/**
 * Where text logs go: stderr, or, while a live progress display owns the terminal, through it
 * (so a log line is printed above the bar instead of through it). Undefined restores stderr.
 */
export function redirectTextLogs(sink: ((text: string) => void) | undefined): void {
  textSink = sink ?? ((text) => process.stderr.write(text));
}

/** A logger that drops everything, for library users who pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });

const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

function toText(line: string): string {
  const { level, time, msg, ...fields } = JSON.parse(line) as Record<string, unknown>;
  const clock = typeof time === 'string' ? time.slice(11, 19) : '';
  const extras = Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const name = LEVEL_NAMES[level as number] ?? String(level);
  return `${clock} ${name.padEnd(5)} ${String(msg)}${extras ? `  ${extras}` : ''}\n`;
}
