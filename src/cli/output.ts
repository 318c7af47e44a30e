import { CheckpointRecord } from '../checkpoint/checkpoint-report';
import { ExitCodeValue } from '../errors/spark-sync-error';

/** The last line of stdout: one JSON object a scheduler can parse (Airflow pushes it to XCom). */
export function printSummary(summary: object): void {
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

/** What each exit code means, the same words in every command's --help. */
const EXIT_CODE_MEANINGS: Record<ExitCodeValue, string> = {
  0: 'done',
  1: 'internal error (a bug: rerun with --verbose and report it)',
  2: 'bad usage, configuration or input',
  3: 'unreachable, timed out or interrupted (safe to retry)',
  4: 'consistency violation (a person must look)',
  5: 'verify found missing, duplicated, foreign or unaccounted records',
  6: "the checkpoint's disk is full (free space, then rerun)",
};

/**
 * The last paragraph of a command's --help: the exit codes it can return, each with its meaning
 * (`meanings` words one for this command), so a scheduler's author can decide what to retry.
 * One `Exit codes:` line, wrapped at 100 columns with indented continuation lines.
 */
export function exitCodesHelp(codes: readonly ExitCodeValue[], meanings: Partial<Record<ExitCodeValue, string>> = {}): string {
  // A code and its meaning's first word stay on one line (joined by a no-break space until wrapped).
  const items = [...new Set(codes)].sort((a, b) => a - b).map((c) => `${c}\u00a0${meanings[c] ?? EXIT_CODE_MEANINGS[c]}`);
  const lines = [''];
  for (const word of `Exit codes: ${items.join('; ')}.`.split(' ')) {
    const line = lines[lines.length - 1];
    if (line.length > 2 && line.length + 1 + word.length > 100) lines.push(`  ${word}`);
    else lines[lines.length - 1] = line ? `${line} ${word}` : word;
  }
  return `\n${lines.join('\n').replace(/\u00a0/g, ' ')}`;
}

/** `status` for people: one row a file. */
export function statusTable(records: CheckpointRecord[]): string {
  if (records.length === 0) return 'no files in this checkpoint yet\n';
  // Rows not sent because their natural key was already sent: only natural-key files have any,
  // so the columns appear only when one is listed.
  const natural = records.some((r) => r.key_fields !== null);
  const header = ['TOPIC', 'FILE', 'STATUS', 'RECORDS', ...(natural ? ['DUPLICATES', 'REPLAYED'] : []), 'DEAD-LETTERED', 'UNEXPECTED', 'PARTITIONS', 'STARTED', 'COMPLETED', 'SOURCE'];
  const rows = records.map((r) => [
    r.kafka_topic,
    r.file_name,
    r.source_check === 'changed' || r.source_check === 'missing' ? `${r.status}, SOURCE ${r.source_check.toUpperCase()}` : r.status,
    `${r.records_processed}/${r.total_records ?? '?'}`,
    ...(natural ? [String(r.duplicate_records), String(r.replayed_records)] : []),
    String(r.dead_lettered),
    // Unexpected records (duplicates or foreign) in the file's range; "acknowledged" once an operator has.
    r.unexpected_records === 0 ? '0' : `${r.unexpected_records}${r.unexpected_acknowledged >= r.unexpected_records ? ' (acknowledged)' : ' (ANOMALY)'}`,
    String(r.partition_count ?? '-'),
    shortTime(r.start_timestamp),
    shortTime(r.completion_timestamp),
    r.source_check,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

function shortTime(iso: string | null): string {
  return iso ? iso.replace('T', ' ').slice(0, 19) : '-';
}
