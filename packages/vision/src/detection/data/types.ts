// The one in-memory form every reader produces and every writer takes: per image, its file, size
// and objects with xyxy pixel boxes; tensors are made per sample, as torchvision's references do.
import type { Tensor } from '@iris/torch';

/** A category as COCO lists it: the id annotations use, and its name. */
export interface Category {
  id: number;
  name: string;
  supercategory?: string;
}

/** One annotated object. */
export interface ObjectRecord {
  /** [x1, y1, x2, y2] in pixels, x2 > x1 and y2 > y1, inside the image. */
  box: [number, number, number, number];
  categoryId: number;
  /** COCO's area (the segment's, when the file gives one), else the box's. */
  area: number;
  iscrowd: boolean;
  /** Pascal VOC's difficult flag (false elsewhere). */
  difficult: boolean;
  /** The annotation's id in a COCO file. */
  id?: number;
}

/** One image and its objects. */
export interface ImageRecord {
  id: number;
  /** Where the image file is. */
  path: string;
  /** The name the annotation file gives it (relative to its images folder), kept when writing. */
  fileName: string;
  width: number;
  height: number;
  objects: ObjectRecord[];
}

/**
 * One image's target, as torchvision's detection models and references take it. `labels` index
 * the dataset's `classes` (0 is the background).
 */
export type DetectionSampleTarget = {
  /** [N, 4] float32 xyxy pixels. */
  boxes: Tensor;
  /** [N] int64. */
  labels: Tensor;
  /** [N] float32. */
  area: Tensor;
  /** [N] int64 0/1. */
  iscrowd: Tensor;
  imageId: number;
  /** [N] int64 0/1; only for datasets that have the flag (Pascal VOC). */
  difficult?: Tensor;
};

/** A batch as torchvision's detection collate makes it (`tuple(zip(*batch))`): images of any size, one target each. */
export interface DetectionBatch {
  /** uint8 [C, H, W] each, or what the transform returns. */
  images: Tensor[];
  targets: DetectionSampleTarget[];
}

/** What to do with an invalid annotation: refuse the dataset, drop what is wrong, or clip boxes into the image (and drop the rest). */
export type OnInvalid = 'error' | 'skip' | 'clip';

export type DetectionFormat = 'coco' | 'voc' | 'yolo';
