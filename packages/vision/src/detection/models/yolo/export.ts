// YOLO to ONNX as Ultralytics exports it: the network plus Detect's decode, one output
// [B, 4 + nc, A] of (cx, cy, w, h) in input pixels and class probabilities, NMS left to the
// runtime (Ultralytics' default nms=False); or the raw per-level maps with `raw`.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';
import { exportOnnx, type ExportOnnxOptions } from '@iris/torch/onnx';
import type { YOLO } from './yolo.js';
import { decodeDetect } from './postprocess.js';

/** The module that is traced: a letterboxed batch in, Ultralytics' inference output out. */
export class YoloExportHead extends nn.Module {
  constructor(
    readonly net: YOLO,
    private readonly raw: boolean,
  ) {
    super();
  }

  forward(batch: Tensor): Tensor | Tensor[] {
    const levels = this.net.call(batch) as Tensor[];
    if (this.raw) return levels;
    return torch.tidy(() => decodeDetect(this.net.detect, levels));
  }
}

export interface ExportYoloOptions extends ExportOnnxOptions {
  /** Square input size, a multiple of 32 (Ultralytics' imgsz; default 640). */
  imgsz?: number;
  /** Export the per-level maps [B, 4·regMax + nc, H_i, W_i] instead of the decoded boxes. */
  raw?: boolean;
}

/** ONNX bytes of a YOLO network (`YoloDetector.yolo`): input 'images' [B, 3, imgsz, imgsz] in [0, 1]. */
export function exportYoloOnnx(net: YOLO, options: ExportYoloOptions = {}): Uint8Array {
  const imgsz = options.imgsz ?? 640;
  if (imgsz % 32 !== 0) throw new RangeError(`exportYoloOnnx: imgsz ${imgsz} must be a multiple of 32 (the largest stride)`);
  const head = new YoloExportHead(net, options.raw ?? false);
  const example = torch.rand([1, 3, imgsz, imgsz]);
  try {
    return exportOnnx(head, example, {
      inputNames: ['images'],
      outputNames: options.raw ? net.detect.stride.map((_, i) => `level${i}`) : ['output0'],
      ...options,
    });
  } finally {
    example.dispose();
  }
}
