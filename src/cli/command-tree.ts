import { Command } from 'commander';

/** A command and every command below it, in the order `--help` lists them. */
export function commandTree(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap(commandTree)];
}

/** `spark-sync broker start`: the command as a user types it. */
export function commandPath(cmd: Command): string {
  return cmd.parent ? `${commandPath(cmd.parent)} ${cmd.name()}` : cmd.name();
}
