import { Argument, Command } from 'commander';
import { commandPath, commandTree } from '../command-tree';
import { exitCodesHelp } from '../output';

/** What a shell completes after a command path: its commands (or argument choices) and options. */
interface Completions {
  /** `''` for spark-sync itself, `broker start` for a subcommand. */
  path: string;
  commands: Array<{ name: string; description: string }>;
  options: Array<{ flag: string; description: string }>;
}

type Shell = 'bash' | 'zsh';

/**
 * `completion bash|zsh`: a completion script generated from the command tree the CLI parses
 * with, so a new command or flag is completed as soon as it exists.
 */
export function completionCommand(): Command {
  return new Command('completion')
    .description('print a completion script for bash or zsh: commands, subcommands and their options')
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(['bash', 'zsh']))
    .addHelpText('after', `
Example:
  spark-sync completion bash > /etc/bash_completion.d/spark-sync   # or: source <(spark-sync completion bash) in ~/.bashrc
  spark-sync completion zsh > "\${fpath[1]}/_spark-sync"            # or: source <(spark-sync completion zsh) in ~/.zshrc, after compinit
${exitCodesHelp([0, 1, 2])}`)
    .action((shell: Shell, _opts: unknown, cmd: Command) => {
      // The script goes to stdout whole, with no summary line: it is meant to be sourced.
      process.stdout.write(completionScript(shell, cmd.parent!));
    });
}

/** The completion script of `root`'s command tree for `shell`. */
export function completionScript(shell: Shell, root: Command): string {
  const table = completions(root);
  // The word after one of these is its value, never a command.
  const valued = [...new Set(commandTree(root).flatMap((c) => c.options.filter((o) => o.required || o.optional).flatMap((o) => [o.short, o.long]).filter((f): f is string => !!f)))];
  return shell === 'bash' ? bashScript(table, valued, root) : zshScript(table, valued, root);
}

function completions(root: Command): Completions[] {
  const globals = root.options.filter((o) => !o.hidden && o.long !== '--version');
  return commandTree(root).map((cmd) => {
    const help = cmd.createHelp();
    const path = commandPath(cmd).split(' ').slice(1).join(' ');
    const commands = help.visibleCommands(cmd).map((c) => ({ name: c.name(), description: c.description() }));
    // A leaf's argument with choices (`completion bash|zsh`) completes like commands.
    for (const arg of cmd.registeredArguments) for (const choice of arg.argChoices ?? []) commands.push({ name: choice, description: arg.description });
    const own = help.visibleOptions(cmd);
    const options = [...own, ...(cmd === root ? [] : globals.filter((g) => !own.some((o) => o.long === g.long)))].flatMap((o) =>
      [o.short, o.long].filter((f): f is string => !!f).map((flag) => ({ flag, description: o.description })));
    return { path, commands, options };
  });
}

function bashScript(table: Completions[], valued: string[], root: Command): string {
  const cases = (pick: (c: Completions) => string[]) => table.map((c) => `    '${c.path}') echo '${pick(c).join(' ')}' ;;`).join('\n');
  return `# spark-sync ${root.version()} completion for bash, generated from its commands.
# Load it with: source <(spark-sync completion bash), or save it as /etc/bash_completion.d/spark-sync
_spark_sync_commands() {
  case "$1" in
${cases((c) => c.commands.map((x) => x.name))}
  esac
}
_spark_sync_options() {
  case "$1" in
${cases((c) => c.options.map((x) => x.flag))}
  esac
}
_spark_sync_valued=' ${valued.join(' ')} '
_spark_sync() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" cmdpath='' word i
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    if [[ "$_spark_sync_valued" == *" $word "* ]]; then ((i++)); continue; fi
    [[ "$word" == -* ]] && continue
    if [[ " $(_spark_sync_commands "$cmdpath") " == *" $word "* ]]; then cmdpath="\${cmdpath:+$cmdpath }$word"; fi
  done
  # An option's value: the shell's own completion (file names).
  if [[ "$_spark_sync_valued" == *" $prev "* ]]; then COMPREPLY=(); return; fi
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$(_spark_sync_options "$cmdpath")" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$(_spark_sync_commands "$cmdpath")" -- "$cur"))
  fi
}
complete -o default -o bashdefault -F _spark_sync spark-sync
`;
}

function zshScript(table: Completions[], valued: string[], root: Command): string {
  // _describe takes `name:description`; a description is cut to its first clause to fit a line.
  const item = (name: string, description: string) => quote(`${name}:${description.split(/; | \(/)[0].slice(0, 80)}`);
  const cases = (pick: (c: Completions) => string[]) => table.map((c) => `    '${c.path}') reply=(${pick(c).join(' ')}) ;;`).join('\n');
  return `#compdef spark-sync
# spark-sync ${root.version()} completion for zsh, generated from its commands.
# Load it with: source <(spark-sync completion zsh) after compinit, or save it as _spark-sync in a folder of $fpath
_spark_sync_commands() {
  case "$1" in
${cases((c) => c.commands.map((x) => item(x.name, x.description)))}
    *) reply=() ;;
  esac
}
_spark_sync_options() {
  case "$1" in
${cases((c) => c.options.map((x) => item(x.flag, x.description)))}
    *) reply=() ;;
  esac
}
_spark_sync_valued=(${valued.join(' ')})
_spark_sync() {
  local cmdpath='' word i
  local -a reply
  for ((i = 2; i < CURRENT; i++)); do
    word=\${words[i]}
    if (( \${_spark_sync_valued[(Ie)$word]} )); then ((i++)); continue; fi
    [[ $word == -* ]] && continue
    _spark_sync_commands "$cmdpath"
    if (( \${reply[(I)\${(b)word}:*]} )); then cmdpath=\${cmdpath:+$cmdpath }$word; fi
  done
  # An option's value: file names.
  if (( \${_spark_sync_valued[(Ie)\${words[CURRENT-1]}]} )); then _files; return; fi
  if [[ \${words[CURRENT]} == -* ]]; then
    _spark_sync_options "$cmdpath"
    _describe -t options option reply
  else
    _spark_sync_commands "$cmdpath"
    if (( \${#reply} )); then _describe -t commands command reply; else _files; fi
  fi
}
if [[ \${funcstack[1]} == _spark-sync ]]; then
  _spark_sync "$@"
elif (( \${+functions[compdef]} )); then
  compdef _spark_sync spark-sync
else
  print -u2 'spark-sync completion: run compinit first (autoload -Uz compinit && compinit)'
fi
`;
}

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
