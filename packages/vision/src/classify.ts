// Image classification with a zoo model: its weights' preprocessing, softmax, top-k labels.
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import { IMAGENET_PREPROCESSING, type ImageModel, type Preprocessing } from './models/registry.js';
import { modelConfig } from './models/create.js';
import { IMAGENET_CLASSES } from './data/imagenet-classes.js';
import { inferenceSession, modelDevice, type InferenceOptions } from './inference.js';
import { centerCrop, normalize, resize, toDtype } from './transforms/functional/index.js';

export interface Prediction {
  label: string;
  index: number;
  probability: number;
}

export interface ClassifyOptions {
  /** How many classes to return, most probable first (default 5, or all when there are fewer). */
  topk?: number;
  /** Default: the loaded weights' (createModel records it), else ImageNet's. */
  preprocessing?: Preprocessing;
  /** Class names by index; default the ImageNet-1k names for 1000-class models, else the index. */
  labels?: readonly string[];
  /**
   * The inference path (see inferenceSession): conv–BN folding, channels-last on CPU, `precision`,
   * `batchSize` images per forward pass; `fast: false` runs the model as it is, in eval mode, fp32.
   */
  inference?: InferenceOptions & { fast?: boolean };
}

/**
 * torchvision's weight transforms (ImageClassification): resize the shorter side to `resizeSize`,
 * centre-crop `cropSize` (zero-padding a smaller image), convert to float, normalise. The resize is
 * antialiased, like PIL's (what the weights were evaluated with) and torchvision's tensor resize
 * with `antialias=True`; torchvision 0.14's tensor default (antialias off) aliases when downscaling.
 * @param images [3, H, W] or [N, 3, H, W]: float 0..1, or uint8 0..255 (rounded after the resize, as torchvision does)
 * @returns [N, 3, cropSize, cropSize]
 */
export function preprocess(images: Tensor, preprocessing: Preprocessing): Tensor {
  if ((images.ndim !== 3 && images.ndim !== 4) || images.shape[images.ndim - 3] !== 3) {
    throw new RangeError(`preprocess: expected an RGB image [3, H, W] or a batch [N, 3, H, W], got shape [${images.shape}]`);
  }
  const { resizeSize, cropSize, interpolation, mean, std } = preprocessing;
  return torch.tidy(() => {
    const resized = resize(images, resizeSize, { interpolation, antialias: interpolation !== 'nearest' });
    const x = normalize(toDtype(centerCrop(resized, cropSize), 'float32'), mean, std);
    return x.ndim === 3 ? x.unsqueeze(0) : x;
  });
}

/**
 * Classifies an image (or a batch) with a model in eval mode, without gradients:
 * `classify(image, createModel('resnet50', { pretrained: true }))` → [{label: 'tabby', index: 281, probability: 0.73}, ...].
 * @param image [3, H, W] float 0..1 → Prediction[]; [N, 3, H, W] → Prediction[][] (one list per image)
 */
export function classify(image: Tensor, model: ImageModel, options: ClassifyOptions = {}): Prediction[] | Prediction[][] {
  const topk = options.topk ?? Math.min(5, model.numClasses);
  const labels = options.labels ?? (model.numClasses === 1000 ? IMAGENET_CLASSES : undefined);
  const preprocessing = options.preprocessing ?? modelConfig(model)?.preprocessing ?? IMAGENET_PREPROCESSING;
  if (!Number.isInteger(topk) || topk < 1 || topk > model.numClasses) {
    throw new RangeError(`classify: topk must be an integer from 1 to the model's ${model.numClasses} classes, got ${topk}`);
  }
  const { fast = true, ...inference } = options.inference ?? {};
  const session = inferenceSession(model, fast ? inference : { ...inference, fuse: false, channelsLast: false, precision: 'fp32' });
  if (session.fallback) console.warn(`classify: ${session.fallback}`);
  try {
    const [probs, indices] = torch.tidy(() => {
      const logits = session.forward(preprocess(image, preprocessing).to({ device: modelDevice(model) }));
      return logits.softmax(1).topk(topk, 1).map((t) => t.cpu());
    });
    const p = probs.tolist() as number[][];
    const idx = indices.tolist() as number[][];
    probs.dispose();
    indices.dispose();
    const predictions = idx.map((row, n) => row.map((index, k) => ({ label: labels?.[index] ?? String(index), index, probability: p[n][k] })));
    return image.ndim === 3 ? predictions[0] : predictions;
  } finally {
    session.close();
  }
}
