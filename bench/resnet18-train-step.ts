// One SGD training step of torchvision's ResNet-18 layout (defined here with @iris/torch),
// batch 64 at 32x32 by default, against the same step in Python PyTorch, in one run.
//   node bench/dist/resnet18-train-step.js [--batch=64 --size=32 --threads=2 --burst=3 --rounds=15 --warmup=5 --channels-last]
import * as torch from '@iris/torch';
import { PythonBench, parseArgs, report } from './lib/compare.js';

const { nn } = torch;
const F = nn.functional;

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
    const out = this.bn2.forward(this.conv2.forward(F.relu(this.bn1.forward(this.conv1.forward(x)))));
    return F.relu(out.add_(identity));
  }
}

class ResNet18 extends nn.Module {
  conv1 = new nn.Conv2d(3, 64, 7, { stride: 2, padding: 3, bias: false });
  bn1 = new nn.BatchNorm2d(64);
  maxpool = new nn.MaxPool2d(3, { stride: 2, padding: 1 });
  layer1 = new nn.Sequential(new BasicBlock(64, 64, 1), new BasicBlock(64, 64, 1));
  layer2 = new nn.Sequential(new BasicBlock(64, 128, 2), new BasicBlock(128, 128, 1));
  layer3 = new nn.Sequential(new BasicBlock(128, 256, 2), new BasicBlock(256, 256, 1));
  layer4 = new nn.Sequential(new BasicBlock(256, 512, 2), new BasicBlock(512, 512, 1));
  fc: torch.nn.Linear;

  constructor(numClasses: number) {
    super();
    this.fc = new nn.Linear(512, numClasses);
  }

  forward(x: torch.Tensor): torch.Tensor {
    x = this.maxpool.forward(F.relu(this.bn1.forward(this.conv1.forward(x))));
    x = this.layer4.forward(this.layer3.forward(this.layer2.forward(this.layer1.forward(x))));
    return this.fc.forward(F.adaptiveAvgPool2d(x, [1, 1]).flatten(1));
  }
}

function irisTrainer(args: Record<string, number | boolean>): (count: number) => number[] {
  torch.setNumThreads(args.threads as number);
  torch.manualSeed(0);
  const model = new ResNet18(10);
  if (args.channelsLast) model.to({ memoryFormat: 'channelsLast' });
  model.train();
  const optimizer = new torch.optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 });
  let x = torch.randn([args.batch as number, 3, args.size as number, args.size as number]);
  if (args.channelsLast) x = x.contiguous({ memoryFormat: 'channelsLast' });
  const y = torch.randint(0, 10, [args.batch as number]);
  const step = () =>
    torch.tidy(() => {
      optimizer.zeroGrad();
      const loss = F.crossEntropy(model.forward(x), y);
      loss.backward();
      optimizer.step();
    });
  for (let i = 0; i < (args.warmup as number); i++) step();
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

const args = parseArgs({ batch: 64, size: 32, threads: 2, burst: 3, rounds: 15, warmup: 5, channelsLast: false });
const reference = new PythonBench('resnet18_train_step.py', args);
await reference.ready();
const irisSteps = irisTrainer(args);
const iris: number[] = [];
const ref: number[] = [];
for (let round = 0; round < (args.rounds as number); round++) {
  iris.push(...irisSteps(args.burst as number));
  ref.push(...(await reference.steps(args.burst as number)));
}
reference.close();
report(
  `resnet18 train step (batch ${args.batch}, ${args.size}x${args.size}, ${args.threads} threads${args.channelsLast ? ', channels-last' : ''}; libtorch ${torch.libtorchVersion()}, PyTorch ${reference.info.torch}; ${iris.length} steps each, alternating bursts of ${args.burst})`,
  iris,
  ref,
);
