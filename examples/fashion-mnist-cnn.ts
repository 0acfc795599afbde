// Trains a small CNN on Fashion-MNIST (Debian's dataset-fashion-mnist) for one epoch and reports
// test accuracy. Run: npm run demo  (options: --epochs N --batch N --seed N --threads N)
import * as torch from '@iris/torch';
import { readIdx, FASHION_MNIST_DIR, FASHION_MNIST_CLASSES } from '@iris/vision/data';
import { ProgressBar } from '@iris/vision/report';

const { nn, optim } = torch;
const F = nn.functional;

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Images as float32 [N, 1, 28, 28] normalised with Fashion-MNIST's mean/std; labels int64 [N]. */
function toTensors(split: 'train' | 't10k'): { images: torch.Tensor; labels: torch.Tensor } {
  const images = readIdx(`${FASHION_MNIST_DIR}/${split}-images-idx3-ubyte.gz`);
  const labels = readIdx(`${FASHION_MNIST_DIR}/${split}-labels-idx1-ubyte.gz`);
  const pixels = torch.tensor(images.data, { shape: [images.shape[0], 1, 28, 28] });
  const normalised = torch.tidy(() => pixels.float().div(255).sub(0.286).div(0.353));
  pixels.dispose();
  const y = torch.tensor(labels.data, { shape: [labels.shape[0]] });
  return { images: normalised, labels: torch.tidy(() => y.long()) };
}

export class SmallCnn extends nn.Module {
  conv1 = new nn.Conv2d(1, 32, 3, { padding: 1 });
  bn1 = new nn.BatchNorm2d(32);
  conv2 = new nn.Conv2d(32, 64, 3, { padding: 1 });
  bn2 = new nn.BatchNorm2d(64);
  fc1 = new nn.Linear(64 * 7 * 7, 128);
  dropout = new nn.Dropout({ p: 0.25 });
  fc2 = new nn.Linear(128, 10);

  /** @param x [N, 1, 28, 28] @returns logits [N, 10] */
  forward(x: torch.Tensor): torch.Tensor {
    x = F.maxPool2d(F.relu(this.bn1.forward(this.conv1.forward(x))), 2);
    x = F.maxPool2d(F.relu(this.bn2.forward(this.conv2.forward(x))), 2);
    x = this.dropout.forward(F.relu(this.fc1.forward(x.flatten(1))));
    return this.fc2.forward(x);
  }
}

export function evaluate(model: torch.nn.Module & { forward(x: torch.Tensor): torch.Tensor }, images: torch.Tensor, labels: torch.Tensor, batch = 1000): number {
  model.eval();
  let correct = 0;
  const n = images.shape[0];
  torch.noGrad(() => {
    for (let i = 0; i < n; i += batch) {
      correct += torch.tidy(() => {
        const size = Math.min(batch, n - i);
        const predicted = model.forward(images.narrow(0, i, size)).argmax(1);
        return predicted.eq(labels.narrow(0, i, size)).sum().item();
      });
    }
  });
  return correct / n;
}

export function main(): { testAccuracy: number; seconds: number } {
  const epochs = option('epochs', 1);
  const batchSize = option('batch', 64);
  torch.manualSeed(option('seed', 0));
  torch.setNumThreads(option('threads', 2));
  const started = performance.now();
  const train = toTensors('train');
  const test = toTensors('t10k');
  const model = new SmallCnn();
  const optimizer = new optim.AdamW(model.parameters(), { lr: 1e-3, weightDecay: 1e-4 });
  const n = train.images.shape[0];
  const stepsPerEpoch = Math.floor(n / batchSize);
  // One-cycle: warm up then anneal, which converges further in one epoch than a constant rate.
  const scheduler = new optim.lrScheduler.OneCycleLR(optimizer, 4e-3, { epochs, stepsPerEpoch });
  for (let epoch = 1; epoch <= epochs; epoch++) {
    model.train();
    const order = torch.randperm(n);
    const steps = stepsPerEpoch;
    const bar = new ProgressBar(`epoch ${epoch}/${epochs}`, steps);
    let runningLoss = 0;
    for (let step = 0; step < steps; step++) {
      const loss = torch.tidy(() => {
        const index = order.narrow(0, step * batchSize, batchSize);
        const logits = model.forward(train.images.indexSelect(0, index));
        const l = F.crossEntropy(logits, train.labels.indexSelect(0, index));
        optimizer.zeroGrad();
        l.backward();
        optimizer.step();
        scheduler.step();
        return l.item();
      });
      runningLoss = step === 0 ? loss : 0.98 * runningLoss + 0.02 * loss;
      bar.update(step + 1, `loss ${runningLoss.toFixed(4)}`);
    }
    order.dispose();
    bar.done();
  }
  const testAccuracy = evaluate(model, test.images, test.labels);
  const seconds = (performance.now() - started) / 1000;
  console.log(`test accuracy ${(testAccuracy * 100).toFixed(2)}% after ${epochs} epoch(s) in ${seconds.toFixed(1)} s`);
  torch.noGrad(() => {
    const logits = model.forward(test.images.narrow(0, 0, 8));
    const predicted = logits.argmax(1).toFlatArray();
    const truth = test.labels.narrow(0, 0, 8).toFlatArray();
    predicted.forEach((p, i) => console.log(`  test image ${i}: predicted ${FASHION_MNIST_CLASSES[p]}, truth ${FASHION_MNIST_CLASSES[truth[i]]}`));
  });
  return { testAccuracy, seconds };
}

if (import.meta.url === `file://${process.argv[1]}`) main();
