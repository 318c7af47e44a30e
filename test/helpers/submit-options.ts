import { program } from '../../src/cli/main';

/**
 * `submit`'s options as its action receives them, resolved through the real command tree (flags,
 * SPARK_SYNC_* variables, the --config file); the action is replaced, so nothing runs. `env` is
 * set for the call only.
 */
export async function resolvedSubmitOptions(args: string[], env: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const root = program();
    let captured: Record<string, unknown> = {};
    root.commands.find((c) => c.name() === 'submit')!.action((opts: Record<string, unknown>) => {
      captured = opts;
    });
    await root.parseAsync(['node', 'spark-sync', ...args]);
    return captured;
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}
