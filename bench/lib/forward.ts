// Shared by the inference benchmarks: one zoo model's eval forward without gradients, Iris vs the
// PyTorch script (same weights init seed, same input shape), in alternating bursts.
import * as torch from '@iris/torch';
import { createModel } from '@iris/vision';
import { PythonBench, alternateBursts, parseArgs, report } from './compare.js';

export async function forwardBench(options: { model: string; script: string; defaults: Record<string, number> }): Promise<void> {
  const args = parseArgs(options.defaults) as Record<string, number>;
  const reference = new PythonBench(options.script, args);
  await reference.ready();
  torch.setNumThreads(args.threads);
  torch.manualSeed(0);
  const model = createModel(options.model).eval();
  const x = torch.randn([args.batch, 3, args.size, args.size]);
  const step = () => torch.tidy(() => torch.noGrad(() => void model.call(x)));
  for (let i = 0; i < args.warmup; i++) step();
  const { iris, ref } = await alternateBursts(step, reference, { rounds: args.rounds, burst: args.burst });
  reference.close();
  report(
    `${options.model} forward (eval, no grad, batch ${args.batch}, ${args.size}x${args.size}, ${args.threads} threads; libtorch ${torch.libtorchVersion()}, PyTorch ${reference.info.torch}; ${iris.length} passes each, alternating bursts of ${args.burst})`,
    iris,
    ref,
  );
}
