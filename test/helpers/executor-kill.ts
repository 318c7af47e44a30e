import { Kafka, logLevel } from 'kafkajs';
import { sleep } from '../../src/util/processes';

/** An executor JVM, as a cluster fixture finds it: its pid and Spark's executor id. */
export interface ExecutorProcess {
  pid: number;
  executorId: string;
}

export interface ExecutorKill {
  pid: number;
  executorId: string;
  /** When the SIGKILL was sent (this process's clock, which the CLI's log times share). */
  at: number;
  /** Messages in the topic then, and how far into its batch that was. */
  messages: number;
  intoBatch: number;
}

/**
 * Kills an executor that is writing, for real. It watches the topic's end offsets; once batch 1
 * or later is in the middle of being written (at least `margin` of its records in Kafka and at
 * least `margin` still to come), it asks the driver's REST API (on `uiPort`) for an executor with
 * a running task and SIGKILLs that executor's JVM, found among `executors()` by its id. Resolves
 * with what was killed, or undefined if the run ended first; never rejects.
 */
export async function killBusyExecutor(options: { bootstrap: string; topic: string; batchSize: number; uiPort: number; executors: (appId: string) => ExecutorProcess[]; margin?: number; timeoutMs?: number }): Promise<ExecutorKill | undefined> {
  const margin = options.margin ?? 5_000;
  const ui = async <T>(p: string) => (await (await fetch(`http://127.0.0.1:${options.uiPort}/api/v1/applications${p}`)).json()) as T;
  const admin = new Kafka({ clientId: 'spark-sync-test-killer', brokers: [options.bootstrap], logLevel: logLevel.NOTHING }).admin();
  const deadline = Date.now() + (options.timeoutMs ?? 240_000);
  try {
    await admin.connect();
    const messages = async () => (await admin.fetchTopicOffsets(options.topic).catch(() => [])).reduce((n, o) => n + Number(o.high), 0);
    const midBatch = (n: number) => n > options.batchSize && n % options.batchSize >= margin && n % options.batchSize <= options.batchSize - margin;
    while (Date.now() < deadline) {
      const [app] = await ui<Array<{ id: string }>>('').catch(() => []);
      const busy = app && (await ui<Array<{ id: string; activeTasks: number }>>(`/${app.id}/executors`)).find((e) => e.id !== 'driver' && e.activeTasks > 0);
      const proc = busy && options.executors(app.id).find((e) => e.executorId === busy.id);
      // The offsets last, right before the kill: a batch may end while the REST API answers.
      if (busy && proc && midBatch(await messages())) {
        process.kill(proc.pid, 'SIGKILL');
        const at = Date.now();
        // What Kafka held as the executor died; its batch cannot complete until Spark reruns the task.
        const then = await messages();
        return { pid: proc.pid, executorId: busy.id, at, messages: then, intoBatch: then % options.batchSize };
      }
      await sleep(20);
    }
  } catch {
    /* the run ended first: reported as nothing killed */
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  return undefined;
}
