// iris train --task detect --model fasterrcnn_mobilenet_v3_large_320_fpn --dataset fashion-mnist-scenes
// The same protocol as classification: a seeded validation split held out from train selects the
// best epoch (COCO AP@[.5:.95]); the dataset's val (or test) split is evaluated once, at the end,
// with the selected weights.
import * as torch from '@iris/torch';
import { createDetector, detectorInfo, fetchDetectorWeights, type Detector, type DetectorOptions } from '@iris/vision/detection';
import { fetchWeights } from '@iris/vision';
import { DataLoader, Rng } from '@iris/vision/data';
import { collateDetection, detectionDataset, detectionSplits, DetectionDataset, MosaicDataset, type DetectionBatch } from '@iris/vision/detection';
import { DetectionPresetEval, DetectionPresetTrain, YoloPresetTrain, yoloPresetTrainSpec, type DetectionAugmentation } from '@iris/vision/transforms';
import { Trainer, DetectionTask, type DetectionReport } from '@iris/vision/train';
import { ProgressBar } from '@iris/vision/report';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError, type Value } from '../options.js';
import type { ResumePlan } from './run-options.js';
import { loadSelectedWeights, makeScheduler, optimizerFor, optionalNumber, precisionOptions } from './train.js';
import { writeDetectionReport } from './detect-report.js';
import { describeYoloOptimizer, yoloRecipe, YOLO_EVAL_OPTIONS } from './train-yolo.js';
import type { DetectionGridItem } from '@iris/vision/detection';
import type { LabelStatsItem } from '@iris/vision/report';

type Values = Record<string, Value>;

/** The augmentation torchvision's references train each family with. */
export function defaultAugmentation(model: string): DetectionAugmentation {
  const family = detectorInfo(model).family;
  return model.startsWith('ssdlite') ? 'ssdlite' : family === 'ssd' ? 'ssd' : 'hflip';
}

/** The detector options a run's flags ask for (recorded in run.json, so eval and predict rebuild the same model). */
export function detectorOptions(flags: Values, numClasses: number): DetectorOptions {
  const options: DetectorOptions = { numClasses };
  if (detectorInfo(String(flags.model)).family === 'yolo') {
    for (const flag of ['minSize', 'maxSize', 'trainableBackboneLayers'] as const) {
      if (flags[flag] !== undefined) throw new UsageError(`--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: a YOLO has no such setting; --imgsz sets its input size`);
    }
    options.imgsz = Number(flags.imgsz ?? 640);
    return options;
  }
  if (flags.imgsz !== undefined) throw new UsageError('--imgsz: only YOLO models take it; torchvision detectors resize with --min-size / --max-size');
  if (flags.minSize !== undefined) options.minSize = Number(flags.minSize);
  if (flags.maxSize !== undefined) options.maxSize = Number(flags.maxSize);
  if (flags.trainableBackboneLayers !== undefined) options.trainableBackboneLayers = Number(flags.trainableBackboneLayers);
  return options;
}

/** Train and held-out validation images of one detection dataset (seeded, as classification's split). */
function holdOut(train: DetectionDataset, fraction: number, seed: number, limit?: number): { train: DetectionDataset; validation: DetectionDataset } {
  const order = new Rng((0x76616cn << 32n) + BigInt(seed)).permutation(train.images.length);
  const used = limit !== undefined ? Array.from(order).slice(0, Math.min(limit, order.length)) : Array.from(order);
  const count = Math.max(1, Math.round(used.length * fraction));
  const pick = (indices: number[]) => new DetectionDataset(indices.sort((a, b) => a - b).map((i) => train.images[i]), train.categories, { ...train.options, origin: train.origin, hasDifficult: train.hasDifficult });
  return { validation: pick(used.slice(0, count)), train: pick(used.slice(count)) };
}

export async function trainDetector(flags: Values, out: string, mode: ResumePlan['mode'], loaders: DataLoader<never>[], given: Set<string>): Promise<number> {
  const started = performance.now();
  const seed = Number(flags.seed);
  torch.manualSeed(seed);
  torch.setNumThreads(Number(flags.threads ?? Math.max(1, (await import('node:os')).availableParallelism())));
  const spec = String(flags.dataset);
  const modelName = String(flags.model);
  detectorInfo(modelName); // an unknown name fails here, before any data is read
  const splits = await detectionSplits(spec);
  const finalSplit = splits.includes('test') ? 'test' : splits.includes('val') ? 'val' : undefined;
  const full = await detectionDataset(spec, 'train');
  const { train, validation } = holdOut(full, Number(flags.valSplit), seed, optionalNumber(flags.limit));
  const test = finalSplit ? await detectionDataset(spec, finalSplit) : validation;
  if (finalSplit && test.classes.join('\n') !== full.classes.join('\n')) throw new UsageError(`${spec}: the ${finalSplit} split's categories differ from train's`);
  const limitedTest = flags.limit !== undefined && finalSplit ? holdOut(test, 1, seed, Math.max(1, Math.round(Number(flags.limit) / 5))).validation : test;
  const batchSize = Number(flags.batchSize);
  if (train.length < batchSize) {
    throw new UsageError(`iris train: the training split has ${train.length} images, fewer than one batch of ${batchSize} (the last partial batch is dropped); use --batch-size ${Math.max(1, train.length)} or less, or more images`);
  }

  const options = detectorOptions(flags, full.classes.length);
  const pretrained = flags.pretrained === undefined ? undefined : flags.pretrained === 'true' ? true : String(flags.pretrained);
  const pretrainedBackbone = flags.pretrainedBackbone === undefined ? undefined : flags.pretrainedBackbone === 'true' ? true : String(flags.pretrainedBackbone);
  // Weights come into the cache first (downloaded once, SHA-256 checked); a file path is used as it is.
  if (pretrained !== undefined && !(typeof pretrained === 'string' && existsSync(pretrained))) await fetchDetectorWeights(modelName, pretrained === true ? undefined : pretrained);
  else if (pretrainedBackbone !== undefined && !(typeof pretrainedBackbone === 'string' && existsSync(pretrainedBackbone))) {
    const backbone = detectorInfo(modelName).backbone;
    if (!backbone) throw new UsageError(`--pretrained-backbone: ${modelName} has no ImageNet classifier backbone; use --pretrained for its COCO weights`);
    await fetchWeights(backbone.model, pretrainedBackbone === true ? backbone.weights : pretrainedBackbone);
  }
  const model = createDetector(modelName, { ...options, pretrained, pretrainedBackbone });
  const isYolo = detectorInfo(modelName).family === 'yolo';
  const augmentation = (flags.augment as DetectionAugmentation | undefined) ?? defaultAugmentation(modelName);
  const workers = Number(flags.workers ?? 0);
  const transforms = import.meta.resolve('@iris/vision/transforms');
  // A YOLO's training images: Ultralytics' mosaic (off for the last --close-mosaic epochs), perspective, HSV, flips, at imgsz.
  const batchesPerEpoch = Math.floor(train.length / batchSize);
  const plannedEpochs = optionalNumber(flags.steps) !== undefined && !given.has('epochs') ? Math.ceil(Number(flags.steps) / Math.ceil(batchesPerEpoch / Number(flags.accumulate))) : Number(flags.epochs);
  const yoloTrain = { imgsz: Number(options.imgsz ?? 640) };
  const trainTransform = isYolo
    ? (workers > 0 ? yoloPresetTrainSpec(yoloTrain) : YoloPresetTrain(yoloTrain))
    : workers > 0
      ? { module: transforms, export: 'DetectionPresetTrain', options: { dataAugmentation: augmentation } }
      : DetectionPresetTrain({ dataAugmentation: augmentation });
  const loader = (dataset: DetectionDataset, isTrain: boolean) => {
    const source = isTrain && isYolo ? new MosaicDataset(dataset, { mosaic: Number(flags.mosaic ?? 1), epochs: plannedEpochs, closeMosaic: Math.min(Number(flags.closeMosaic ?? 10), plannedEpochs) }) : dataset;
    const made = new DataLoader<DetectionBatch>(source, {
      batchSize: isTrain ? batchSize : Math.max(1, Math.min(8, batchSize)),
      shuffle: isTrain,
      dropLast: isTrain,
      seed,
      numWorkers: workers,
      collate: collateDetection,
      // Evaluation images stay as they are: a detector resizes (or letterboxes) them itself and maps its boxes back.
      transform: isTrain ? trainTransform : workers > 0 ? { module: transforms, export: 'DetectionPresetEval', options: {} } : DetectionPresetEval(),
    });
    loaders.push(made as unknown as DataLoader<never>);
    return made;
  };
  writeFileSync(join(out, 'run.json'), `${JSON.stringify({ task: 'detect', model: modelName, buildOptions: options, evalOptions: isYolo ? YOLO_EVAL_OPTIONS : {}, classes: full.classes, dataset: spec, augmentation, split: { valSplit: Number(flags.valSplit), seed, limit: optionalNumber(flags.limit) ?? null, final: finalSplit ?? 'validation' } }, null, 2)}\n`);
  const trainLoader = loader(train, true);
  const validationLoader = loader(validation, false);
  const accumulate = Number(flags.accumulate);
  const maxSteps = optionalNumber(flags.steps);
  const stepsPerEpoch = Math.ceil(trainLoader.length / accumulate);
  const epochs = maxSteps !== undefined && !given.has('epochs') ? Math.ceil(maxSteps / stepsPerEpoch) : Number(flags.epochs);
  const totalSteps = Math.min(maxSteps ?? Infinity, epochs * stepsPerEpoch);
  // A YOLO trains with Ultralytics' recipe (its own warm-up, groups and EMA) and evaluates with its validator's settings.
  const recipe = isYolo ? yoloRecipe(model, flags, { trainImages: train.length, batchSize, epochs, batchesPerEpoch: trainLoader.length }) : undefined;
  if (recipe) console.log(describeYoloOptimizer(recipe.settings, String(flags.optimizer ?? 'auto')));
  const optimizer = recipe?.optimizer ?? makeDetectionOptimizer(model, flags);
  const scheduler = recipe ? undefined : makeScheduler(optimizer, flags, totalSteps, stepsPerEpoch);
  const emaShadow = recipe || flags.ema !== undefined ? createDetector(modelName, options) : undefined;
  for (const m of [model, emaShadow]) if (m && isYolo) Object.assign(m, YOLO_EVAL_OPTIONS);
  const task = new DetectionTask({ classes: full.classes });
  let bar: ProgressBar | undefined;
  const trainer = new Trainer({
    model,
    task,
    optimizer,
    scheduler,
    epochs,
    maxSteps,
    outDir: out,
    clipGradNorm: recipe ? recipe.trainer.clipGradNorm : optionalNumber(flags.clipGrad),
    accumulate: recipe ? recipe.trainer.accumulate : accumulate,
    accumulateReduction: recipe?.trainer.accumulateReduction,
    onBatchStart: recipe?.trainer.onBatchStart,
    ema: emaShadow ? (recipe ? { shadow: emaShadow, decay: recipe.trainer.emaDecay, tau: recipe.trainer.emaTau } : { shadow: emaShadow, decay: Number(flags.ema) }) : undefined,
    device: flags.device ? String(flags.device) : undefined,
    ...precisionOptions(flags),
    earlyStopPatience: optionalNumber(flags.earlyStop),
    checkpointEverySteps: optionalNumber(flags.checkpointEvery),
    onStep: ({ epoch, step, stepsPerEpoch, loss, lr, imagesPerSecond }) => {
      bar ??= new ProgressBar(`epoch ${epoch + 1}/${epochs}`, stepsPerEpoch);
      bar.update(step, `loss ${loss.toFixed(4)} lr ${lr.toExponential(2)} ${imagesPerSecond.toFixed(1)} img/s`);
      if (step === stepsPerEpoch) {
        bar.done();
        bar = undefined;
      }
    },
    onEpoch: ({ epoch, train: summary, validation: report }) => {
      bar?.done();
      bar = undefined;
      const parts = Object.entries(summary.parts).map(([k, v]) => `${k.replace(/^loss_/, '')} ${v.toFixed(3)}`).join(', ');
      const v = report ? `; val mAP ${fmt(report.map)}, mAP@0.5 ${fmt(report.map50)} (${report.samples} held-out images)` : '';
      console.log(`epoch ${epoch}/${epochs}: train loss ${summary.loss.toFixed(4)} (${parts})${v}`);
    },
  });
  if (trainer.precision.fallback) console.warn(`warning: ${trainer.precision.fallback}`);
  if (mode !== 'fresh' && trainer.resumeIfPossible(trainLoader, { schedule: mode === 'extend' ? 'replay' : 'restore' })) console.log(`resumed from ${trainer.checkpointPath}`);
  const result = await trainer.fit(trainLoader, validationLoader);

  const selected = emaShadow ?? model;
  loadSelectedWeights(selected, out);
  const shown: Parameters<typeof writeDetectionReport>[1]['samples'] = [];
  const report: DetectionReport = await trainer.evaluate(loader(limitedTest, false), (images, targets, detections) => {
    images.forEach((image, i) => {
      if (shown.length >= 16) return;
      const d = detections[i];
      const scores = d.scores.toFlatArray();
      // Ultralytics' default confidence for drawn predictions.
      const keep = scores.map((s, k) => [s, k]).filter(([s]) => s >= 0.25).map(([, k]) => k);
      const boxes = d.boxes.toFlatArray();
      const labels = d.labels.toFlatArray();
      shown.push({
        // Kept past the evaluation's tidy scope; writeDetectionReport disposes it.
        image: torch.keep(image.mul(255).round().clamp(0, 255).to('uint8')),
        boxes: keep.map((k) => boxes.slice(4 * k, 4 * k + 4)),
        labels: keep.map((k) => full.classes[labels[k]]),
        scores: keep.map((k) => scores[k]),
        truth: { boxes: chunk(targets[i].boxes.toFlatArray()), labels: targets[i].labels.toFlatArray().map((l) => full.classes[l]) },
      });
    });
  });
  const seconds = (performance.now() - started) / 1000;
  const testName = finalSplit ?? 'validation';
  const metrics = {
    task: 'detect',
    test_split: testName,
    test_map: report.map,
    test_map50: report.map50,
    test_map75: report.map75,
    test_coco_stats: report.coco.stats,
    test_samples: report.samples,
    per_class: Object.fromEntries(report.coco.perClass.map((c) => [c.name, { ap: c.ap, ap50: c.ap50, ap75: c.ap75, ar: c.ar }])),
    selected_on: 'validation (held out from train)',
    validation_samples: validation.length,
    train_samples: train.length,
    best_epoch: result.best?.epoch ?? null,
    best_val_map: result.best?.score ?? null,
    epochs_run: result.epochsRun,
    steps: result.steps,
    stopped_early: result.stoppedEarly,
    seconds,
    model: modelName,
    dataset: spec,
  };
  writeFileSync(join(out, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
  const trainBatch = await firstTrainingBatch(train, { batchSize, seed, transform: isYolo ? YoloPresetTrain(yoloTrain) : DetectionPresetTrain({ dataAugmentation: augmentation }), mosaic: isYolo ? { mosaic: Number(flags.mosaic ?? 1) } : undefined });
  await writeDetectionReport(out, { classes: full.classes, report, samples: shown, testName, labels: trainLabels(train), trainBatch });
  console.log(`${testName} mAP ${fmt(report.map)} (mAP@0.5 ${fmt(report.map50)}, mAP@0.75 ${fmt(report.map75)}) on ${report.samples} images with the weights of epoch ${result.best?.epoch ?? '-'} (best validation mAP ${fmt(result.best?.score ?? 0)}) in ${seconds.toFixed(1)} s; run folder ${out}`);
  return 0;
}

const fmt = (v: number) => (v < 0 ? 'n/a' : v.toFixed(4));
const chunk = (flat: number[]) => Array.from({ length: flat.length / 4 }, (_, i) => flat.slice(4 * i, 4 * i + 4));

/** The training split's objects for labels.png (crowd regions are no objects to learn). */
function trainLabels(dataset: DetectionDataset): LabelStatsItem[] {
  return dataset.images.map((record) => {
    const objects = record.objects.filter((o) => !o.iscrowd);
    return { boxes: objects.map((o) => [...o.box]), labels: objects.map((o) => dataset.labelOf(o.categoryId) - 1), width: record.width, height: record.height };
  });
}

/** The first training batch (up to 16 images) as the model gets it: the same order and augmentation, from a loader of its own. */
async function firstTrainingBatch(dataset: DetectionDataset, options: { batchSize: number; seed: number; transform: ReturnType<typeof DetectionPresetTrain>; mosaic?: { mosaic: number } }): Promise<DetectionGridItem[]> {
  const source = options.mosaic ? new MosaicDataset(dataset, options.mosaic) : dataset;
  const loader = new DataLoader<DetectionBatch>(source, { batchSize: options.batchSize, shuffle: true, dropLast: true, seed: options.seed, collate: collateDetection, transform: options.transform });
  for await (const batch of loader) {
    const items = batch.images.slice(0, 16).map((image, i) => ({
      image: image.dtype === 'uint8' ? image.clone() : torch.tidy(() => image.mul(255).round().clamp(0, 255).to('uint8')),
      boxes: chunk(batch.targets[i].boxes.toFlatArray()),
      labels: batch.targets[i].labels.toFlatArray().map((l) => dataset.classes[l]),
    }));
    for (const image of batch.images) image.dispose();
    for (const t of batch.targets) for (const v of Object.values(t)) if (typeof v === 'object' && v !== null && 'dispose' in v) (v as torch.Tensor).dispose();
    return items;
  }
  return [];
}

/** torchvision's detection reference: every trainable parameter in one group (SGD momentum 0.9, or AdamW). */
function makeDetectionOptimizer(model: Detector, flags: Values) {
  const params = model.parameters().filter((p) => p.requiresGrad);
  if (params.length === 0) throw new UsageError('iris train: the detector has no trainable parameters');
  return optimizerFor(params, flags);
}
