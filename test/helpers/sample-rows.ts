import { hashKey } from '../../src/index';

/**
 * Row i of `spark-sync sample` (spark-jobs SampleData), rendered as Spark's CAST(col AS STRING)
 * in UTC. Written independently of the Java side so a test can compute every expected key.
 */
export function sampleFields(i: number): Array<string | null> {
  const customer = i % 10 === 3 ? null : i % 10 === 5 ? `cust_${i % 997}|x\\y` : `cust_${i % 997}`;
  const amount = ((i % 100000) * 0.25).toFixed(2);
  const ts = new Date((1705300000 + i) * 1000).toISOString().replace('T', ' ').slice(0, 19);
  return [String(i), customer, amount, String(i % 7), ts];
}

/** The key of every row of a sample file with `rows` rows synced under `fileIdentity`. */
export function expectedSampleKeys(rows: number, fileIdentity: string): string[] {
  return Array.from({ length: rows }, (_, i) => hashKey(sampleFields(i), fileIdentity, i));
}
