// iris train --dataset fashion-mnist --preset quick --out runs/fmnist
import * as torch from '@iris/torch';
import { createModel, modelInfo, modelConfig, type ImageModel } from '@iris/vision';
import { DataLoader, Rng, type Dataset } from '@iris/vision/data';
import { loadStateDictFile } from '@iris/torch/io';
import { MixUp, CutMix } from '@iris/vision/transforms';
import { Trainer, type Precision, makeRecipeTransform, fineTuneParamGroups, GradualUnfreezing, type RecipeTransformOptions, type EvaluationReport } from '@iris/vision/train';
import { ProgressBar } from '@iris/vision/report';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError, type ParsedCommand, type Value } from '../options.js';
import { openDataset, type DatasetSplits } from './datasets.js';
import { PRESETS, trainSpec } from './train-options.js';
import { planResume, type ResumePlan } from './run-options.js';
import { writeRunReport } from './run-report.js';
import { trainDetector } from './train-detect.js';

export { trainSpec as spec };

type Values = Record<string, Value>;

export async function trainCommand({ values: parsed, sources }: ParsedCommand): Promise<number> {
  const given = new Set(Object.keys(sources).filter((k) => sources[k] !== 'default'));
  // --task detect takes the detection recipes: torchvision's (detect), Ultralytics' for a YOLO
  // (yolo), and --preset quick is main job 2 (quick-detect).
  if (parsed.task === 'detect') parsed.preset = detectionPreset(given.has('preset') ? String(parsed.preset) : undefined, given.has('model') ? String(parsed.model) : undefined);
  const preset = PRESETS[String(parsed.preset)];
  // The preset fills what neither a flag nor --config gave; the table's defaults come last.
  const resolved: Values = { ...parsed };
  for (const [name, value] of Object.entries(preset)) if (!given.has(name)) resolved[name] = value;
  if (resolved.dataset === undefined && resolved.resume !== true) throw new UsageError('iris train: --dataset is required (e.g. --dataset fashion-mnist); see iris train --help');
  if (resolved.freezeBackbone && resolved.gradualUnfreeze) throw new UsageError('--freeze-backbone and --gradual-unfreeze contradict each other: the first never trains the backbone, the second unfreezes it over time');
  if (resolved.out === undefined && resolved.resume === true) throw new UsageError('iris train --resume: give the run folder to continue with --out DIR');
  const out = String(resolved.out ?? join('runs', `${String(resolved.dataset).replace(/[^\w.-]+/g, '_')}-${Date.now()}`));
  resolved.out = out;
  const plan = planResume(trainSpec, out, resolved, given);
  const flags = plan.mode === 'fresh' ? resolved : plan.values;
  if (plan.mode === 'extend') console.log(`extending the run in ${out}: ${describeExtension(plan.from, flags)}`);
  mkdirSync(out, { recursive: true });
  const { resume: _resume, new: _new, config: _config, ...recorded } = flags;
  writeFileSync(join(out, 'config.json'), `${JSON.stringify(recorded, null, 2)}\n`);

  // Every exit, error or not, stops the loaders' worker threads: they would keep the process alive.
  const loaders: DataLoader[] = [];
  try {
    return await train(flags, out, plan.mode, loaders, given);
  } finally {
    await Promise.all(loaders.map((l) => l.close()));
  }
}

async function train(flags: Values, out: string, mode: ResumePlan['mode'], loaders: DataLoader[], given: Set<string>): Promise<number> {
  if (flags.task === 'detect') return trainDetector(flags, out, mode, loaders as DataLoader<never>[], given);
  const started = performance.now();
  const seed = Number(flags.seed);
  torch.manualSeed(seed);
  torch.setNumThreads(Number(flags.threads ?? Math.max(1, (await import('node:os')).availableParallelism())));

  const data = openDataset(String(flags.dataset), { valSplit: Number(flags.valSplit), seed, limit: optionalNumber(flags.limit) });
  const modelName = String(flags.model);
  const info = modelInfo(modelName);
  const dataChannels = data.imageShape?.[0] ?? 3;
  const inChannels = Number(flags.inChannels ?? dataChannels);
  if (inChannels !== dataChannels && !(dataChannels === 1 && inChannels === 3)) {
    throw new UsageError(`iris train: --in-channels ${inChannels} does not fit ${data.name}'s ${dataChannels}-channel images (only grayscale to 3 channels is converted)`);
  }
  const rgb = inChannels !== dataChannels;
  const cropSize = Number(flags.imageSize ?? data.imageShape?.[1] ?? info.defaultInput[1]);
  const pretrained = flags.pretrained === undefined ? undefined : flags.pretrained === 'true' ? true : String(flags.pretrained);
  const model = createModel(modelName, { numClasses: data.classes.length, inChannels, ...(info.family === 'simple-cnn' ? { imageSize: cropSize } : {}), pretrained });
  // What the model was really built with (with weights, torchvision's builders set more: Inception
  // v3's transformInput, GoogLeNet's auxLogits): eval, predict and the EMA copy rebuild from it.
  const buildOptions = modelConfig(model)!.options;
  if (flags.freezeBackbone) freezeBackbone(model);
  // ULMFiT: the head alone first, then one more depth group every N epochs (from the top).
  const unfreezing = flags.gradualUnfreeze ? new GradualUnfreezing(model, Number(flags.gradualUnfreeze)) : undefined;

  const small = data.imageShape !== undefined && cropSize <= 64;
  const transformOptions = (train: boolean): RecipeTransformOptions => ({
    kind: small ? 'small' : 'imagenet',
    train,
    cropSize,
    resizeSize: Math.round(cropSize / 0.875),
    padding: Number(flags.padding ?? (small ? 2 : 0)),
    hflip: flags.hflip !== false,
    // The grey channel's statistics for each of the three equal channels.
    mean: rgb ? [0, 1, 2].map(() => data.mean[0]) : data.mean,
    std: rgb ? [0, 1, 2].map(() => data.std[0]) : data.std,
    ...(rgb ? { rgb } : {}),
    // Small images trained at another size are resized first (no crop of 28 px images to 64).
    ...(small && data.imageShape && cropSize !== data.imageShape[1] ? { scaleTo: cropSize } : {}),
    autoAugment: (flags.autoAugment as RecipeTransformOptions['autoAugment']) ?? null,
  });
  const workers = Number(flags.workers ?? 0);
  const batchSize = Number(flags.batchSize);
  const transformSpec = (train: boolean) => ({ module: '@iris/vision/train', export: 'makeRecipeTransform', options: transformOptions(train) });
  const loader = (dataset: Dataset, train: boolean) => {
    const made = new DataLoader(dataset, {
      batchSize,
      shuffle: train,
      dropLast: train,
      seed,
      numWorkers: workers,
      transform: workers > 0 ? transformSpec(train) : makeRecipeTransform(transformOptions(train)),
    });
    loaders.push(made);
    return made;
  };
  checkSizes(data, batchSize, flags);
  // Everything `iris predict` and `iris eval` need to rebuild the model, its input pipeline and the splits.
  const split = { valSplit: Number(flags.valSplit), seed, limit: optionalNumber(flags.limit) ?? null };
  writeFileSync(
    join(out, 'run.json'),
    `${JSON.stringify({ model: modelName, buildOptions, classes: data.classes, dataset: String(flags.dataset), transform: transformOptions(false), split }, null, 2)}\n`,
  );
  writeFileSync(join(out, 'splits.json'), `${JSON.stringify({ train: Array.from(data.trainIndices), validation: Array.from(data.validationIndices), testIsValidation: data.testIsValidation })}\n`);
  const trainLoader = loader(data.train, true);
  const validationLoader = loader(data.validation, false);
  const accumulate = Number(flags.accumulate);
  const maxSteps = optionalNumber(flags.steps);
  // --steps counts optimizer steps; the epochs it takes follow, unless --epochs caps them.
  const stepsPerEpoch = Math.ceil(trainLoader.length / accumulate);
  const epochs = maxSteps !== undefined && !given.has('epochs') ? Math.ceil(maxSteps / stepsPerEpoch) : Number(flags.epochs);
  const totalSteps = Math.min(maxSteps ?? Infinity, epochs * stepsPerEpoch);
  const optimizer = makeOptimizer(model, flags, unfreezing !== undefined);
  const scheduler = makeScheduler(optimizer, flags, totalSteps, stepsPerEpoch);

  const mixing = makeBatchMix(flags, data.classes.length, seed);
  const emaShadow = flags.ema !== undefined ? createModel(modelName, buildOptions) : undefined;
  let bar: ProgressBar | undefined;
  const trainer = new Trainer({
    model,
    optimizer,
    scheduler,
    epochs,
    maxSteps,
    numClasses: data.classes.length,
    outDir: out,
    labelSmoothing: Number(flags.labelSmoothing),
    clipGradNorm: optionalNumber(flags.clipGrad),
    accumulate,
    ema: emaShadow ? { shadow: emaShadow, decay: Number(flags.ema) } : undefined,
    device: flags.device ? String(flags.device) : undefined,
    ...precisionOptions(flags),
    earlyStopPatience: optionalNumber(flags.earlyStop),
    checkpointEverySteps: optionalNumber(flags.checkpointEvery),
    batchTransform: mixing,
    onStep: ({ epoch, step, stepsPerEpoch, loss, accuracy, lr, imagesPerSecond }) => {
      bar ??= new ProgressBar(`epoch ${epoch + 1}/${epochs}`, stepsPerEpoch);
      const acc = mixing ? '' : ` acc ${(accuracy * 100).toFixed(1)}%`;
      bar.update(step, `loss ${loss.toFixed(4)}${acc} lr ${lr.toExponential(2)} ${imagesPerSecond.toFixed(0)} img/s`);
      if (step === stepsPerEpoch) {
        bar.done();
        bar = undefined;
      }
    },
    onEpochStart: unfreezing ? (epoch) => console.log(`epoch ${epoch + 1}: training ${unfreezing.apply(epoch).join(', ')}`) : undefined,
    onEpoch: ({ epoch, train, validation }) => {
      // A run ended by --steps stops inside its last epoch.
      bar?.done();
      bar = undefined;
      if (validation?.samples === 0) {
        throw new Error(`none of the ${data.validation.length} held-out validation images could be read (each was skipped as corrupt), so no epoch can be selected; raise --val-split or fix the images`);
      }
      const v = validation ? `, val top-1 ${(validation.top1 * 100).toFixed(2)}% top-5 ${(validation.top5 * 100).toFixed(2)}% (${validation.samples} held-out images)` : '';
      console.log(`epoch ${epoch}/${epochs}: train loss ${train.loss.toFixed(4)}, train acc ${(train.accuracy * 100).toFixed(2)}%${v}`);
    },
  });
  // A CPU without bf16 (or fp16 off CUDA) trains in fp32, and says so.
  if (trainer.precision.fallback) console.warn(`warning: ${trainer.precision.fallback}`);
  if (mode !== 'fresh' && trainer.resumeIfPossible(trainLoader, { schedule: mode === 'extend' ? 'replay' : 'restore' })) console.log(`resumed from ${trainer.checkpointPath}`);
  const result = await trainer.fit(trainLoader, validationLoader);

  // The test split, once, with the weights selected on validation (best.safetensors).
  const selected = emaShadow ?? model;
  loadSelectedWeights(selected, out);
  const testLoader = loader(data.test, false);
  const predictions: { index: number; predicted: number; confidence: number; label: number }[] = [];
  let seen = 0;
  const report: EvaluationReport = await trainer.evaluate(testLoader, (predicted, confidence, labels) => {
    predicted.forEach((p, i) => predictions.push({ index: seen + i, predicted: p, confidence: confidence[i], label: labels[i] }));
    seen += predicted.length;
  });
  const seconds = (performance.now() - started) / 1000;
  const metrics = {
    test_accuracy: report.top1,
    test_top5: report.top5,
    test_loss: report.loss,
    test_samples: report.samples,
    test_is_validation: data.testIsValidation,
    macro_f1: report.macroF1,
    ece: report.ece,
    per_class: Object.fromEntries(data.classes.map((c, i) => [c, report.perClass[i]])),
    confusion_matrix: report.confusion,
    selected_on: 'validation',
    validation_samples: data.validation.length,
    train_samples: data.train.length,
    best_epoch: result.best?.epoch ?? null,
    best_val_top1: result.best?.score ?? null,
    epochs_run: result.epochsRun,
    steps: result.steps,
    stopped_early: result.stoppedEarly,
    seconds,
    model: modelName,
    dataset: data.name,
  };
  writeFileSync(join(out, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
  writeFileSync(join(out, 'predictions.csv'), `index,label,predicted,confidence\n${predictions.map((p) => `${p.index},${p.label},${p.predicted},${p.confidence.toFixed(6)}`).join('\n')}\n`);
  await writeRunReport(out, { classes: data.classes, testIsValidation: data.testIsValidation, report, predictions, testDataset: data.test });
  const testName = data.testIsValidation ? 'validation (the dataset has no test split)' : 'test';
  console.log(`${testName} accuracy ${(report.top1 * 100).toFixed(2)}% (top-5 ${(report.top5 * 100).toFixed(2)}%) with the weights of epoch ${result.best?.epoch ?? '-'} (best validation top-1 ${((result.best?.score ?? 0) * 100).toFixed(2)}%) in ${seconds.toFixed(1)} s; run folder ${out}`);
  return 0;
}

/** Refuses splits too small to train or select on, naming the sizes. */
function checkSizes(data: DatasetSplits, batchSize: number, flags: Values): void {
  if (data.train.length < batchSize) {
    throw new UsageError(
      `iris train: the training split has ${data.train.length} images, fewer than one batch of ${batchSize} (the last partial batch of an epoch is dropped), so an epoch would train on nothing; ` +
        `use --batch-size ${Math.max(1, data.train.length)} or less, or more images`,
    );
  }
  if (data.validation.length === 0) {
    throw new UsageError(`iris train: --val-split ${flags.valSplit} of ${data.train.length + data.validation.length} training images holds out none for validation; raise --val-split or add images`);
  }
}

export function describeExtension(from: { epochs?: Value; steps?: Value }, flags: Values): string {
  const parts = (['epochs', 'steps'] as const).filter((k) => from[k] !== flags[k]).map((k) => `--${k} ${from[k] ?? '(not set)'} -> ${flags[k]}`);
  return `${parts.join(', ')}; the learning-rate schedule now spans the new length (the steps already taken followed the old one)`;
}

/** The Trainer's options for --precision and --channels-last. */
export function precisionOptions(flags: Values): { precision: Precision; channelsLast: boolean } {
  return { precision: String(flags.precision) as Precision, channelsLast: flags.channelsLast === true };
}

type Optimizer = InstanceType<typeof torch.optim.Optimizer>;

/**
 * Param groups by depth (fineTuneParamGroups): one learning rate unless --backbone-lr-scale or
 * --layer-decay set others. Frozen parameters are left out, except under gradual unfreezing,
 * which thaws them later (an optimizer skips a parameter without a gradient).
 */
function makeOptimizer(model: ImageModel, flags: Values, keepFrozen: boolean): Optimizer {
  const lr = Number(flags.lr);
  const params = fineTuneParamGroups(model, { lr, backboneLrScale: optionalNumber(flags.backboneLrScale), layerDecay: optionalNumber(flags.layerDecay) })
    .map((g) => ({ params: g.params.filter((p) => keepFrozen || p.requiresGrad), lr: g.lr }))
    .filter((g) => g.params.length > 0);
  if (params.length === 0) throw new UsageError('iris train: the model has no trainable parameters');
  return optimizerFor(params, flags);
}

/** The optimizer --optimizer names, over `params` (a list or param groups), with --lr, --momentum and --weight-decay. */
export function optimizerFor(params: ConstructorParameters<typeof torch.optim.SGD>[0], flags: Values): Optimizer {
  const lr = Number(flags.lr);
  const weightDecay = Number(flags.weightDecay ?? 0);
  switch (flags.optimizer ?? 'sgd') {
    case 'sgd':
      return new torch.optim.SGD(params, { lr, momentum: Number(flags.momentum ?? 0.9), weightDecay, nesterov: false });
    case 'adam':
      return new torch.optim.Adam(params, { lr, weightDecay });
    case 'adamw':
      return new torch.optim.AdamW(params, { lr, weightDecay });
    case 'rmsprop':
      return new torch.optim.RMSprop(params, { lr, weightDecay, momentum: Number(flags.momentum ?? 0) });
    default:
      throw new UsageError(`--optimizer ${flags.optimizer}: use sgd, adam, adamw or rmsprop`);
  }
}

/** Loads the weights validation selected (RUN/best.safetensors) into `model`, if an epoch was selected. */
export function loadSelectedWeights(model: torch.nn.Module, out: string): void {
  const bestPath = join(out, 'best.safetensors');
  if (!existsSync(bestPath)) return;
  const best = loadStateDictFile(bestPath);
  model.loadStateDict(best);
  for (const t of best.values()) t.dispose();
}

/** Schedules over `total` optimizer steps; each param group keeps its own peak rate. */
export function makeScheduler(optimizer: Optimizer, flags: Values, total: number, stepsPerEpoch: number) {
  const { lrScheduler } = torch.optim;
  const warmup = Math.round(Number(flags.warmupEpochs ?? 0) * stepsPerEpoch);
  switch (flags.scheduler ?? 'cosine') {
    case 'onecycle':
      return new lrScheduler.OneCycleLR(optimizer, optimizer.paramGroups.map((g) => g.lr), { totalSteps: total });
    case 'cosine': {
      const cosine = new lrScheduler.CosineAnnealingLR(optimizer, Math.max(1, total - warmup));
      if (!warmup) return cosine;
      const warm = new lrScheduler.LinearLR(optimizer, { startFactor: 0.01, totalIters: warmup });
      return new lrScheduler.SequentialLR(optimizer, [warm, cosine], [warmup]);
    }
    case 'step':
      return new lrScheduler.StepLR(optimizer, Math.max(1, Math.round(total / 3)), { gamma: 0.1 });
    case 'linear':
      return new lrScheduler.LinearLR(optimizer, { startFactor: 1, endFactor: Number(flags.lrf ?? 0.01), totalIters: Math.max(1, total) });
    case 'none':
      return undefined;
    default:
      throw new UsageError(`--scheduler ${flags.scheduler}: use onecycle, cosine, step, linear or none`);
  }
}

/** The preset a detection run takes: the one asked for (quick is main job 2's), else the model family's recipe. */
function detectionPreset(asked: string | undefined, model: string | undefined): string {
  if (asked === 'quick') return 'quick-detect';
  if (asked !== undefined) return asked;
  return model !== undefined && /^yolo/.test(model) ? 'yolo' : 'detect';
}

/** Linear probe: only the classifier trains. */
function freezeBackbone(model: ImageModel): void {
  model.freeze();
  const before = new Set(model.parameters());
  model.resetClassifier(model.numClasses);
  for (const p of model.parameters()) if (!before.has(p)) p.requiresGrad = true;
}

export const optionalNumber = (value: unknown) => (value === undefined ? undefined : Number(value));

/**
 * torchvision's reference recipe: each batch gets MixUp or CutMix, picked at random, when their
 * alphas are given. The draw is seeded by the step, so a resumed run mixes the same way.
 */
function makeBatchMix(flags: Values, numClasses: number, seed: number) {
  const mixes = [
    ...(flags.mixupAlpha ? [MixUp(numClasses, { p: 1, alpha: Number(flags.mixupAlpha) })] : []),
    ...(flags.cutmixAlpha ? [CutMix(numClasses, { p: 1, alpha: Number(flags.cutmixAlpha) })] : []),
  ];
  if (mixes.length === 0) return undefined;
  return (images: torch.Tensor, labels: torch.Tensor, step: number): [torch.Tensor, torch.Tensor] => {
    // A stream of its own (the high bits), apart from the data order's and augmentation's seeds.
    const rng = new Rng((0x6d6978n << 40n) + (BigInt(seed) << 24n) + BigInt(step));
    const mix = mixes[mixes.length === 1 ? 0 : rng.int(0, mixes.length)];
    const mixed = mix({ images, labels }, rng);
    return [mixed.images, mixed.labels];
  };
}
