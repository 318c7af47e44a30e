/** A row position or count as people read it, and the Spark UI shows it: 3,000,000. */
export function rowNumber(n: number): string {
  return n.toLocaleString('en-US');
}
