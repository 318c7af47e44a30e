import { DEV_JOBS_JAR } from '../src/config/paths';

export { DEV_JOBS_JAR };

/** The benchmark-only Java jobs (io.sparksync.jobs.internal.BenchJobs); the JVM must be started with {@link DEV_JOBS_JAR}. */
export interface BenchJobs {
  plainSparkSink(path: string, format: string, fileIdentity: string, rows: number, topic: string, kafkaConf: string[], withHeaders: boolean, messageKey: string[]): Promise<bigint>;
  topicTally(topic: string, kafkaConf: string[]): Promise<bigint[]>;
  meanRecordBytes(path: string, format: string, fileIdentity: string, rows: number): Promise<bigint>;
}

export async function benchJobs(): Promise<BenchJobs> {
  const { importClassAsync } = await import('java-bridge');
  return (await importClassAsync('io.sparksync.jobs.internal.BenchJobs')) as unknown as BenchJobs;
}
