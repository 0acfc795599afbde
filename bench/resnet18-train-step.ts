// One SGD training step of torchvision's ResNet-18 layout (defined here with @iris/torch),
// batch 64 at 32x32 by default, against the same step in Python PyTorch, in one run, for each of
// the modes asked for: fp32, bf16 (the forward pass under CPU bf16 autocast, the loss in fp32, as
// the Trainer does) and bf16-cl (bf16 with the model and batch channels-last).
//   node bench/dist/resnet18-train-step.js [--modes=fp32,bf16,bf16-cl --stem=imagenet|cifar
//     --batch=64 --size=32 --threads=2 --burst=3 --rounds=15 --warmup=5]
//   --precision=fp32|bf16 [--channels-last] runs that one mode instead of --modes.
//   --stem=cifar: the CIFAR adaptation (3x3 stride-1 stem, no max-pool), 16x the activations.
import * as torch from '@iris/torch';
import { PythonBench, parseArgs, report, median } from './lib/compare.js';

const { nn } = torch;
const F = nn.functional;

// As torchvision's: ReLU in place, the residual added in place.
class BasicBlock extends nn.Module {
  conv1: torch.nn.Conv2d;
  bn1: torch.nn.BatchNorm2d;
  conv2: torch.nn.Conv2d;
  bn2: torch.nn.BatchNorm2d;
  downsample: torch.nn.Sequential | null;

  constructor(inPlanes: number, planes: number, stride: number) {
    super();
    this.conv1 = new nn.Conv2d(inPlanes, planes, 3, { stride, padding: 1, bias: false });
    this.bn1 = new nn.BatchNorm2d(planes);
    this.conv2 = new nn.Conv2d(planes, planes, 3, { padding: 1, bias: false });
    this.bn2 = new nn.BatchNorm2d(planes);
    this.downsample =
      stride !== 1 || inPlanes !== planes
        ? new nn.Sequential(new nn.Conv2d(inPlanes, planes, 1, { stride, bias: false }), new nn.BatchNorm2d(planes))
        : null;
  }

  forward(x: torch.Tensor): torch.Tensor {
    const identity = this.downsample ? this.downsample.forward(x) : x;
    const out = this.bn2.forward(this.conv2.forward(F.relu(this.bn1.forward(this.conv1.forward(x)), { inplace: true })));
    return F.relu(out.add_(identity), { inplace: true });
  }
}

class ResNet18 extends nn.Module {
  conv1: torch.nn.Conv2d;
  bn1 = new nn.BatchNorm2d(64);
  maxpool: torch.nn.Identity | torch.nn.MaxPool2d;
  layer1 = new nn.Sequential(new BasicBlock(64, 64, 1), new BasicBlock(64, 64, 1));
  layer2 = new nn.Sequential(new BasicBlock(64, 128, 2), new BasicBlock(128, 128, 1));
  layer3 = new nn.Sequential(new BasicBlock(128, 256, 2), new BasicBlock(256, 256, 1));
  layer4 = new nn.Sequential(new BasicBlock(256, 512, 2), new BasicBlock(512, 512, 1));
  fc: torch.nn.Linear;

  constructor(numClasses: number, cifarStem: boolean) {
    super();
    this.conv1 = cifarStem ? new nn.Conv2d(3, 64, 3, { stride: 1, padding: 1, bias: false }) : new nn.Conv2d(3, 64, 7, { stride: 2, padding: 3, bias: false });
    this.maxpool = cifarStem ? new nn.Identity() : new nn.MaxPool2d(3, { stride: 2, padding: 1 });
    this.fc = new nn.Linear(512, numClasses);
  }

  forward(x: torch.Tensor): torch.Tensor {
    x = this.maxpool.forward(F.relu(this.bn1.forward(this.conv1.forward(x)), { inplace: true })) as torch.Tensor;
    x = this.layer4.forward(this.layer3.forward(this.layer2.forward(this.layer1.forward(x))));
    return this.fc.forward(F.adaptiveAvgPool2d(x, [1, 1]).flatten(1));
  }
}

interface Mode {
  name: string;
  precision: 'fp32' | 'bf16';
  channelsLast: boolean;
}

type Args = { batch: number; size: number; threads: number; burst: number; rounds: number; warmup: number; stem: string };

function irisTrainer(args: Args, mode: Mode): (count: number) => number[] {
  torch.setNumThreads(args.threads);
  torch.manualSeed(0);
  const model = new ResNet18(10, args.stem === 'cifar');
  if (mode.channelsLast) model.toMemoryFormat('channelsLast');
  model.train();
  const optimizer = new torch.optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 });
  let x = torch.randn([args.batch, 3, args.size, args.size]);
  if (mode.channelsLast) x = x.contiguous({ memoryFormat: 'channelsLast' });
  const y = torch.randint(0, 10, [args.batch]);
  const forward = () => model.forward(x);
  const step = () =>
    torch.tidy(() => {
      optimizer.zeroGrad();
      const logits = mode.precision === 'bf16' ? torch.autocast('cpu', forward, { dtype: 'bfloat16' }) : forward();
      const loss = F.crossEntropy(logits.float(), y);
      loss.backward();
      optimizer.step();
    });
  for (let i = 0; i < args.warmup; i++) step();
  return (count) => {
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      step();
      times.push(performance.now() - t0);
    }
    return times;
  };
}

const MODES: Record<string, Mode> = {
  fp32: { name: 'fp32', precision: 'fp32', channelsLast: false },
  'fp32-cl': { name: 'fp32-cl', precision: 'fp32', channelsLast: true },
  bf16: { name: 'bf16', precision: 'bf16', channelsLast: false },
  'bf16-cl': { name: 'bf16-cl', precision: 'bf16', channelsLast: true },
};

const raw = parseArgs({ batch: 64, size: 32, threads: 2, burst: 3, rounds: 15, warmup: 5, stem: 'imagenet', modes: 'fp32,bf16,bf16-cl', precision: '', channelsLast: false });
const args = raw as unknown as Args;
if (args.stem !== 'imagenet' && args.stem !== 'cifar') throw new Error(`--stem must be imagenet or cifar, got ${args.stem}`);
const modeNames = raw.precision ? [`${raw.precision}${raw.channelsLast ? '-cl' : ''}`] : String(raw.modes).split(',').map((m) => m.trim());
const modes = modeNames.map((m) => {
  if (!MODES[m]) throw new Error(`unknown mode '${m}'; modes: ${Object.keys(MODES).join(', ')}`);
  return MODES[m];
});
if (modes.some((m) => m.precision === 'bf16')) {
  const support = torch.cpu.bf16Support();
  console.log(`bf16: ${support.supported ? 'native' : 'NOT native (timings will show emulation)'} here; ${support.reason}`);
}

const summary: string[] = [];
for (const mode of modes) {
  const reference = new PythonBench('resnet18_train_step.py', { ...args, precision: mode.precision, channelsLast: mode.channelsLast });
  await reference.ready();
  const irisSteps = irisTrainer(args, mode);
  const iris: number[] = [];
  const ref: number[] = [];
  for (let round = 0; round < args.rounds; round++) {
    iris.push(...irisSteps(args.burst));
    ref.push(...(await reference.steps(args.burst)));
  }
  reference.close();
  const [irisMs, refMs] = [median(iris), median(ref)];
  report(
    `resnet18${args.stem === 'cifar' ? ' (CIFAR stem)' : ''} train step, ${mode.name} (batch ${args.batch}, ${args.size}x${args.size}, ${args.threads} threads; libtorch ${torch.libtorchVersion()}, PyTorch ${reference.info.torch}; ${iris.length} steps each, alternating bursts of ${args.burst})`,
    iris,
    ref,
  );
  summary.push(`${mode.name.padEnd(8)} Iris ${irisMs.toFixed(1).padStart(8)} ms   PyTorch ${refMs.toFixed(1).padStart(8)} ms   ratio ${(irisMs / refMs).toFixed(3)}`);
}
if (summary.length > 1) console.log(`\nsummary (medians; ratio = Iris / PyTorch):\n${summary.join('\n')}`);
