// iris TASK [args] — one file per subcommand in commands/.
import { parseArgs, UsageError } from './args.js';
import { modelsCommand } from './commands/models.js';

const USAGE = `usage: iris <command> [options]

commands:
  train     train or fine-tune a classifier        iris train --dataset fashion-mnist --preset quick --out runs/fmnist
  eval      evaluate weights on a dataset          iris eval --run runs/fmnist
  predict   classify images                        iris predict IMAGE|DIR --run runs/fmnist [--json] [--topk 5]
  models    list, inspect, download models         iris models list | info resnet50 | download resnet50
  bench     Iris vs PyTorch side by side            iris bench train-step

Options come from flags or a JSON file (--config run.json); flags win.`;

type Command = (args: ReturnType<typeof parseArgs>) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  models: async () => modelsCommand,
  train: async () => (await import('./commands/train.js')).trainCommand,
  eval: async () => (await import('./commands/eval.js')).evalCommand,
  predict: async () => (await import('./commands/predict.js')).predictCommand,
  bench: async () => (await import('./commands/bench.js')).benchCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === 'help') {
    console.log(USAGE);
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    console.error(`iris: unknown command '${name}'\n\n${USAGE}`);
    return 2;
  }
  try {
    return await (await load())(parseArgs(rest));
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
