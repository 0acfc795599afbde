// iris COMMAND [options] — one file per command in commands/, each with its declared options.
import { parseCommand, formatHelp, kebab, allOptions, UsageError, type CommandSpec, type ParsedCommand } from './options.js';

interface CommandModule {
  spec: CommandSpec;
  run: (parsed: ParsedCommand) => Promise<number>;
}

const commands: Record<string, () => Promise<CommandModule>> = {
  train: async () => {
    const [{ trainSpec }, m] = await Promise.all([import('./commands/train-options.js'), import('./commands/train.js')]);
    return { spec: trainSpec, run: m.trainCommand };
  },
  eval: async () => import('./commands/eval.js').then((m) => ({ spec: m.spec, run: m.evalCommand })),
  predict: async () => import('./commands/predict.js').then((m) => ({ spec: m.spec, run: m.predictCommand })),
  models: async () => import('./commands/models.js').then((m) => ({ spec: m.spec, run: m.modelsCommand })),
  bench: async () => import('./commands/bench.js').then((m) => ({ spec: m.spec, run: m.benchCommand })),
  data: async () => import('./commands/data.js').then((m) => ({ spec: m.spec, run: m.dataCommand })),
};

async function usage(): Promise<string> {
  const lines = ['usage: iris <command> [options]', '', 'commands:'];
  for (const [name, load] of Object.entries(commands)) {
    const { spec } = await load();
    lines.push(`  ${name.padEnd(10)}${spec.summary.split('\n')[0]}`);
  }
  lines.push('  completion  print a bash completion script: source <(iris completion bash)', '', "'iris <command> --help' lists a command's options, with their defaults.");
  return lines.join('\n');
}

/** A bash completion script: commands, then each command's flags and choices, from the tables. */
async function completion(): Promise<string> {
  const cases: string[] = [];
  for (const [name, load] of Object.entries(commands)) {
    const options = allOptions((await load()).spec);
    const flags = Object.entries(options).flatMap(([n, o]) => [`--${kebab(n)}`, ...(o.type === 'boolean' ? [`--no-${kebab(n)}`] : [])]);
    const choices = Object.entries(options).filter(([, o]) => o.choices).map(([n, o]) => `      --${kebab(n)}) COMPREPLY=($(compgen -W "${o.choices!.join(' ')}" -- "$cur")); return;;`);
    cases.push(`    ${name})\n      case "$prev" in\n${choices.join('\n')}\n      esac\n      COMPREPLY=($(compgen -W "${flags.join(' ')}" -- "$cur"));;`);
  }
  return `# iris bash completion: source <(iris completion bash)
_iris() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then COMPREPLY=($(compgen -W "${Object.keys(commands).join(' ')} completion help" -- "$cur")); return; fi
  case "\${COMP_WORDS[1]}" in
${cases.join('\n')}
  esac
}
complete -o default -F _iris iris`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    if (name === 'help' && rest[0] && commands[rest[0]]) {
      console.log(formatHelp((await commands[rest[0]]()).spec));
      return 0;
    }
    (name ? console.log : console.error)(await usage());
    return name ? 0 : 2;
  }
  if (name === 'completion') {
    console.log(await completion());
    return 0;
  }
  const load = commands[name];
  if (!load) {
    console.error(`iris: unknown command '${name}'\n\n${await usage()}`);
    return 2;
  }
  try {
    const command = await load();
    const parsed = parseCommand(command.spec, rest);
    if (parsed.help) {
      console.log(formatHelp(command.spec));
      return 0;
    }
    return await command.run(parsed);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(e.message);
      return 2;
    }
    console.error(`iris ${name}: ${(e as Error).message}`);
    if (process.env.IRIS_DEBUG) console.error((e as Error).stack);
    return 1;
  }
}
