// Transfer learning without internet: pretrain simple_cnn on five Fashion-MNIST classes, then
// fine-tune on the other five with only 100 images per class, and compare with training the same
// network from scratch on those 500 images with the same budget.
//   node examples/dist/transfer-learning.js [--pretrain-epochs 3] [--finetune-epochs 15]
import * as torch from '@iris/torch';
import { createModel } from '@iris/vision';
import { FashionMnist, DataLoader, classSubset, takePerClass, type Dataset } from '@iris/vision/data';
import { Trainer, makeRecipeTransform } from '@iris/vision/train';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const option = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

const SOURCE = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat'];
const TARGET = ['Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const transform = (train: boolean) => makeRecipeTransform({ kind: 'small', train, cropSize: 28, padding: 2, hflip: true, mean: [0.286], std: [0.353] });
const loader = (data: Dataset, train: boolean, seed: number) => new DataLoader(data, { batchSize: 50, shuffle: train, dropLast: false, seed, transform: transform(train) });

async function train(model: ReturnType<typeof createModel>, data: Dataset, validation: Dataset, epochs: number, lr: number, seed: number) {
  const params = model.parameters().filter((p) => p.requiresGrad);
  const optimizer = new torch.optim.AdamW(params, { lr, weightDecay: 1e-4 });
  const trainLoader = loader(data, true, seed);
  const scheduler = new torch.optim.lrScheduler.OneCycleLR(optimizer, lr, { totalSteps: epochs * trainLoader.length });
  const trainer = new Trainer({ model, optimizer, scheduler, epochs, numClasses: model.numClasses, outDir: mkdtempSync(join(tmpdir(), 'iris-transfer-')) });
  await trainer.fit(trainLoader);
  return trainer.evaluate(loader(validation, false, seed));
}

export async function main(): Promise<{ scratch: number; transfer: number }> {
  torch.setNumThreads(2);
  const trainSet = new FashionMnist(undefined, { train: true });
  const testSet = new FashionMnist(undefined, { train: false });
  const finetuneEpochs = option('finetune-epochs', 15);
  const small = takePerClass(classSubset(trainSet, TARGET), 100, 0);
  const targetTest = classSubset(testSet, TARGET);

  torch.manualSeed(0);
  const pretrained = createModel('simple_cnn', { numClasses: 5 });
  const source = await train(pretrained, classSubset(trainSet, SOURCE), classSubset(testSet, SOURCE), option('pretrain-epochs', 3), 4e-3, 0);
  console.log(`pretrained on ${SOURCE.join(', ')}: ${(source.top1 * 100).toFixed(2)}% on their test images`);
  pretrained.resetClassifier(5);
  const transfer = await train(pretrained, small, targetTest, finetuneEpochs, 2e-3, 1);

  torch.manualSeed(0);
  const scratchModel = createModel('simple_cnn', { numClasses: 5 });
  const scratch = await train(scratchModel, small, targetTest, finetuneEpochs, 2e-3, 1);
  console.log(`${TARGET.join(', ')} with 100 images per class, ${finetuneEpochs} epochs:`);
  console.log(`  from scratch:        ${(scratch.top1 * 100).toFixed(2)}%`);
  console.log(`  fine-tuned (transfer): ${(transfer.top1 * 100).toFixed(2)}%  (gain ${((transfer.top1 - scratch.top1) * 100).toFixed(2)} points)`);
  return { scratch: scratch.top1, transfer: transfer.top1 };
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
