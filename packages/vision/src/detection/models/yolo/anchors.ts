// Anchor points and the distance <-> box conversions of Ultralytics' anchor-free heads
// (ultralytics/utils/tal.py make_anchors, dist2bbox, bbox2dist). Points are in grid cells of
// their level (x + 0.5, y + 0.5); multiply by the stride tensor for input pixels.
import * as torch from '@iris/torch';
import type { Device, DType, Tensor } from '@iris/torch';

/**
 * One anchor point per cell of every level, in the order Detect's outputs are concatenated
 * (level by level, row-major inside a level).
 * @param feats per level a map [B, C, H, W] or its [H, W]
 * @returns anchorPoints [A, 2] (x, y) in cells, strideTensor [A, 1]
 */
export function makeAnchors(
  feats: readonly (Tensor | readonly [number, number])[],
  strides: readonly number[],
  gridCellOffset = 0.5,
  options: { dtype?: DType; device?: Device } = {},
): { anchorPoints: Tensor; strideTensor: Tensor } {
  if (feats.length === 0 || feats.length !== strides.length) {
    throw new RangeError(`makeAnchors: ${feats.length} levels but ${strides.length} strides; give one stride per level`);
  }
  const first = feats[0];
  const isMap = (f: Tensor | readonly [number, number]): f is Tensor => f instanceof torch.Tensor;
  const dtype = options.dtype ?? (isMap(first) ? first.dtype : 'float32');
  const device = options.device ?? (isMap(first) ? first.device : undefined);
  return torch.tidy(() => {
    const points: Tensor[] = [];
    const strideRows: Tensor[] = [];
    feats.forEach((f, i) => {
      const [h, w] = isMap(f) ? f.shape.slice(-2) : f;
      const sx = torch.arange(0, w, 1, { dtype, device }).add(gridCellOffset);
      const sy = torch.arange(0, h, 1, { dtype, device }).add(gridCellOffset);
      // meshgrid(sy, sx, indexing='ij'): x varies fastest.
      const gx = sx.unsqueeze(0).expand([h, w]);
      const gy = sy.unsqueeze(1).expand([h, w]);
      points.push(torch.stack([gx, gy], -1).reshape([-1, 2]));
      strideRows.push(torch.full([h * w, 1], strides[i], { dtype, device }));
    });
    return { anchorPoints: torch.cat(points, 0), strideTensor: torch.cat(strideRows, 0) };
  });
}

/**
 * (left, top, right, bottom) distances from anchor points to boxes.
 * @param distance [..., 4] along `dim`
 * @param anchorPoints [..., 2], broadcast against distance
 * @returns xyxy, or (cx, cy, w, h) when `xywh`
 */
export function dist2bbox(distance: Tensor, anchorPoints: Tensor, xywh = true, dim = -1): Tensor {
  return torch.tidy(() => {
    const [lt, rb] = distance.chunk(2, dim);
    const x1y1 = anchorPoints.sub(lt);
    const x2y2 = anchorPoints.add(rb);
    if (xywh) return torch.cat([x1y1.add(x2y2).div(2), x2y2.sub(x1y1)], dim);
    return torch.cat([x1y1, x2y2], dim);
  });
}

/**
 * xyxy boxes to (left, top, right, bottom) distances from the anchor points, clamped to
 * [0, regMax - 0.01] so the right DFL bin (floor + 1) stays inside the distribution.
 * @param regMax the largest distance (Ultralytics passes Detect's reg_max - 1)
 */
export function bbox2dist(anchorPoints: Tensor, bbox: Tensor, regMax: number): Tensor {
  return torch.tidy(() => {
    const [x1y1, x2y2] = bbox.chunk(2, -1);
    return torch.cat([anchorPoints.sub(x1y1), x2y2.sub(anchorPoints)], -1).clamp(0, regMax - 0.01);
  });
}
