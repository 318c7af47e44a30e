import { CheckpointRecord } from '../checkpoint/checkpoint-report';

/** The last line of stdout: one JSON object a scheduler can parse (Airflow pushes it to XCom). */
export function printSummary(summary: object): void {
  process.stdout.write(`${JSON.stringify(summary)}\n`);
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
