import { sleep } from '../../src/util/processes';
import { waitForMessages } from './topic-reader';

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
}

/**
 * Kills an executor that is writing, for real: once the topic holds `messages` (a batch is being
 * written), the driver's REST API (on `uiPort`) names an executor with a running task, and its
 * JVM, found among `executors()` by its executor id, gets SIGKILL. Resolves with what was
 * killed, or undefined when no busy executor was found in time; never rejects.
 */
export async function killBusyExecutor(options: { bootstrap: string; topic: string; messages: number; uiPort: number; executors: (appId: string) => ExecutorProcess[] }): Promise<ExecutorKill | undefined> {
  const ui = async <T>(p: string) => (await (await fetch(`http://127.0.0.1:${options.uiPort}/api/v1/applications${p}`)).json()) as T;
  try {
    await waitForMessages(options.bootstrap, options.topic, options.messages);
    const [app] = await ui<Array<{ id: string }>>('');
    for (let i = 0; i < 200; i++) {
      const busy = (await ui<Array<{ id: string; activeTasks: number }>>(`/${app.id}/executors`)).find((e) => e.id !== 'driver' && e.activeTasks > 0);
      const proc = options.executors(app.id).find((e) => e.executorId === busy?.id);
      if (busy && proc) {
        process.kill(proc.pid, 'SIGKILL');
        return { pid: proc.pid, executorId: busy.id, at: Date.now() };
      }
      await sleep(20);
    }
  } catch {
    /* the run ended first: reported as nothing killed */
  }
  return undefined;
}
