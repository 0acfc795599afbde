// Ultralytics' YOLO building blocks (ultralytics/nn/modules/conv.py, block.py, head.py), written
// from their definitions. Property names are Ultralytics' (cv1, cv2, m, bn, qkv, dfl, ...), so the
// state-dict keys of a model built from them are its module paths and its weights load one to one.
import * as torch from '@iris/torch';
import { nn, type Tensor } from '@iris/torch';

/** Ultralytics' autopad: 'same' padding for an odd kernel at dilation 1. */
function autopad(k: number): number {
  return Math.floor(k / 2);
}

export interface YoloConvOptions {
  kernelSize?: number;
  stride?: number;
  groups?: number;
  /** SiLU after BN (default true); false for Attention's and PSABlock's linear projections. */
  act?: boolean;
}

/**
 * Ultralytics' Conv: conv (no bias) - BatchNorm2d - SiLU. BN uses eps 1e-3 and momentum 0.03, the
 * values Ultralytics' initialize_weights sets on every BatchNorm2d after building.
 */
export class Conv extends nn.Module {
  conv: nn.Conv2d;
  bn: nn.BatchNorm2d;
  act: nn.Module;

  constructor(c1: number, c2: number, options: YoloConvOptions = {}) {
    super();
    const { kernelSize = 1, stride = 1, groups = 1, act = true } = options;
    this.conv = new nn.Conv2d(c1, c2, kernelSize, { stride, padding: autopad(kernelSize), groups, bias: false });
    this.bn = new nn.BatchNorm2d(c2, { eps: 1e-3, momentum: 0.03 });
    this.act = act ? new nn.SiLU({ inplace: true }) : new nn.Identity();
  }

  forward(x: Tensor): Tensor {
    return torch.tidy(() => this.act.call(this.bn.call(this.conv.call(x))) as Tensor);
  }
}

/** Ultralytics' DWConv: a Conv grouped by gcd(c1, c2) (depthwise when c1 == c2). */
export class DWConv extends Conv {
  constructor(c1: number, c2: number, options: Omit<YoloConvOptions, 'groups'> = {}) {
    super(c1, c2, { ...options, groups: gcd(c1, c2) });
  }
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Ultralytics' Bottleneck: two Convs (kernels k[0], k[1]; hidden int(c2 * e)), residual when `shortcut` and c1 == c2. */
export class Bottleneck extends nn.Module {
  cv1: Conv;
  cv2: Conv;
  readonly add: boolean;

  constructor(c1: number, c2: number, options: { shortcut?: boolean; groups?: number; k?: [number, number]; e?: number } = {}) {
    super();
    const { shortcut = true, groups = 1, k = [3, 3], e = 0.5 } = options;
    const c = Math.floor(c2 * e);
    this.cv1 = new Conv(c1, c, { kernelSize: k[0] });
    this.cv2 = new Conv(c, c2, { kernelSize: k[1], groups });
    this.add = shortcut && c1 === c2;
  }

  forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      const y = this.cv2.call(this.cv1.call(x));
      return this.add ? y.add_(x) : y;
    });
  }
}

/**
 * Ultralytics' C2f: cv1 to 2c channels split in two halves, n Bottlenecks chained on the second
 * half, every intermediate concatenated before cv2 (c = int(c2 * e)).
 */
export class C2f extends nn.Module {
  readonly c: number;
  cv1: Conv;
  cv2: Conv;
  m: nn.ModuleList;

  constructor(c1: number, c2: number, options: { n?: number; shortcut?: boolean; groups?: number; e?: number } = {}) {
    super();
    const { n = 1, shortcut = false, groups = 1, e = 0.5 } = options;
    this.c = Math.floor(c2 * e);
    this.cv1 = new Conv(c1, 2 * this.c);
    this.cv2 = new Conv((2 + n) * this.c, c2);
    this.m = new nn.ModuleList(Array.from({ length: n }, () => new Bottleneck(this.c, this.c, { shortcut, groups, k: [3, 3], e: 1.0 })));
  }

  forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      const y = this.cv1.call(x).chunk(2, 1);
      for (const m of this.m) y.push(m.call(y[y.length - 1]) as Tensor);
      return this.cv2.call(torch.cat(y, 1));
    });
  }
}

/** Ultralytics' C3: two 1x1 branches, n Bottlenecks on the first, concatenated into cv3. */
export class C3 extends nn.Module {
  cv1: Conv;
  cv2: Conv;
  cv3: Conv;
  m: nn.Sequential;

  constructor(c1: number, c2: number, options: { n?: number; shortcut?: boolean; groups?: number; e?: number; k?: [number, number] } = {}) {
    super();
    const { n = 1, shortcut = true, groups = 1, e = 0.5, k = [1, 3] } = options;
    const c = Math.floor(c2 * e);
    this.cv1 = new Conv(c1, c);
    this.cv2 = new Conv(c1, c);
    this.cv3 = new Conv(2 * c, c2);
    this.m = new nn.Sequential(...Array.from({ length: n }, () => new Bottleneck(c, c, { shortcut, groups, k, e: 1.0 })));
  }

  forward(x: Tensor): Tensor {
    return torch.tidy(() => this.cv3.call(torch.cat([this.m.call(this.cv1.call(x)) as Tensor, this.cv2.call(x)], 1)));
  }
}

/** Ultralytics' C3k: a C3 whose Bottlenecks use k x k kernels (3 by default) on both convs. */
export class C3k extends C3 {
  constructor(c1: number, c2: number, options: { n?: number; shortcut?: boolean; groups?: number; e?: number; k?: number } = {}) {
    const { k = 3, ...rest } = options;
    super(c1, c2, { ...rest, k: [k, k] });
  }
}

/** Ultralytics' C3k2: a C2f whose inner blocks are C3k (n 2) when `c3k`, else plain Bottlenecks (shortcut on). */
export class C3k2 extends C2f {
  constructor(c1: number, c2: number, options: { n?: number; c3k?: boolean; e?: number; groups?: number; shortcut?: boolean } = {}) {
    const { n = 1, c3k = false, e = 0.5, groups = 1, shortcut = true } = options;
    super(c1, c2, { n, shortcut, groups, e });
    // C2f's Bottlenecks are replaced, as Ultralytics' C3k2 reassigns self.m.
    this.m = new nn.ModuleList(
      Array.from({ length: n }, () => (c3k ? new C3k(this.c, this.c, { n: 2, shortcut, groups }) : new Bottleneck(this.c, this.c, { shortcut, groups }))),
    );
  }
}

/** Ultralytics' SPPF: cv1 to c1 // 2, three chained k x k stride-1 max pools, all four concatenated into cv2. */
export class SPPF extends nn.Module {
  cv1: Conv;
  cv2: Conv;
  m: nn.MaxPool2d;

  constructor(c1: number, c2: number, k = 5) {
    super();
    const c = Math.floor(c1 / 2);
    this.cv1 = new Conv(c1, c);
    this.cv2 = new Conv(c * 4, c2);
    this.m = new nn.MaxPool2d(k, { stride: 1, padding: Math.floor(k / 2) });
  }

  forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      const y = [this.cv1.call(x)];
      for (let i = 0; i < 3; i++) y.push(this.m.call(y[y.length - 1]) as Tensor);
      return this.cv2.call(torch.cat(y, 1));
    });
  }
}

/**
 * Ultralytics' Attention (YOLO11's PSA): multi-head self-attention over the H*W positions with one
 * 1x1 qkv Conv (keys/queries at attnRatio of the head size), plus a depthwise 3x3 positional
 * encoding of v, then a 1x1 projection; no activations.
 */
export class Attention extends nn.Module {
  readonly numHeads: number;
  readonly headDim: number;
  readonly keyDim: number;
  readonly scale: number;
  qkv: Conv;
  proj: Conv;
  pe: Conv;

  constructor(dim: number, numHeads = 8, attnRatio = 0.5) {
    super();
    if (numHeads < 1 || dim % numHeads !== 0) throw new RangeError(`Attention: dim ${dim} should split into numHeads ${numHeads} heads`);
    this.numHeads = numHeads;
    this.headDim = Math.floor(dim / numHeads);
    this.keyDim = Math.floor(this.headDim * attnRatio);
    this.scale = this.keyDim ** -0.5;
    const h = dim + this.keyDim * numHeads * 2;
    this.qkv = new Conv(dim, h, { act: false });
    this.proj = new Conv(dim, dim, { act: false });
    this.pe = new Conv(dim, dim, { kernelSize: 3, groups: dim, act: false });
  }

  forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      const [b, c, h, w] = x.shape;
      const n = h * w;
      const [q, k, v] = this.qkv
        .call(x)
        .view([b, this.numHeads, this.keyDim * 2 + this.headDim, n])
        .splitWithSizes([this.keyDim, this.keyDim, this.headDim], 2);
      const attn = q.transpose(-2, -1).matmul(k).mul(this.scale).softmax(-1);
      const out = v.matmul(attn.transpose(-2, -1)).view([b, c, h, w]).add_(this.pe.call(v.reshape([b, c, h, w])));
      return this.proj.call(out);
    });
  }
}

/** Ultralytics' PSABlock: Attention then a 2x-wide 1x1 feed-forward, each residual when `shortcut`. */
export class PSABlock extends nn.Module {
  attn: Attention;
  ffn: nn.Sequential;
  readonly add: boolean;

  constructor(c: number, options: { attnRatio?: number; numHeads?: number; shortcut?: boolean } = {}) {
    super();
    const { attnRatio = 0.5, numHeads = 4, shortcut = true } = options;
    this.attn = new Attention(c, numHeads, attnRatio);
    this.ffn = new nn.Sequential(new Conv(c, c * 2), new Conv(c * 2, c, { act: false }));
    this.add = shortcut;
  }

  forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      const a = this.attn.call(x);
      const y = this.add ? a.add_(x) : a;
      const f = this.ffn.call(y) as Tensor;
      return this.add ? f.add_(y) : f;
    });
  }
}

/** Ultralytics' C2PSA: cv1 split in halves, n PSABlocks (c // 64 heads) on the second, concatenated into cv2. */
export class C2PSA extends nn.Module {
  readonly c: number;
  cv1: Conv;
  cv2: Conv;
  m: nn.Sequential;

  constructor(c1: number, c2: number, options: { n?: number; e?: number } = {}) {
    super();
    if (c1 !== c2) throw new RangeError(`C2PSA: input channels ${c1} should equal output channels ${c2}`);
    const { n = 1, e = 0.5 } = options;
    this.c = Math.floor(c1 * e);
    this.cv1 = new Conv(c1, 2 * this.c);
    this.cv2 = new Conv(2 * this.c, c1);
    this.m = new nn.Sequential(...Array.from({ length: n }, () => new PSABlock(this.c, { attnRatio: 0.5, numHeads: Math.floor(this.c / 64) })));
  }

  forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      const [a, b] = this.cv1.call(x).splitWithSizes([this.c, this.c], 1);
      return this.cv2.call(torch.cat([a, this.m.call(b) as Tensor], 1));
    });
  }
}

/** Ultralytics' Concat: torch.cat of the listed layers' outputs along `dimension`. */
export class Concat extends nn.Module {
  constructor(readonly dimension = 1) {
    super();
  }

  forward(xs: Tensor[]): Tensor {
    return torch.cat(xs, this.dimension);
  }
}

/** PyTorch's nn.Upsample with a scale factor (Ultralytics' head uses nearest x2). */
export class Upsample extends nn.Module {
  constructor(
    readonly scaleFactor = 2,
    readonly mode: 'nearest' = 'nearest',
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return nn.functional.interpolate(x, { scaleFactor: this.scaleFactor, mode: this.mode });
  }
}

/**
 * Ultralytics' DFL (distribution focal loss integral): a frozen 1x1 conv with weights 0..c1-1 that
 * turns each side's softmax over c1 bins into its expected distance.
 */
export class DFL extends nn.Module {
  conv: nn.Conv2d;

  constructor(readonly c1 = 16) {
    super();
    this.conv = new nn.Conv2d(c1, 1, 1, { bias: false });
    torch.noGrad(() => torch.tidy(() => void this.conv.weight.copy_(torch.arange(0, c1, 1, { dtype: 'float32' }).view([1, c1, 1, 1]))));
    // Ultralytics keeps it a Parameter with requires_grad False: it is in the state dict and the
    // parameter count (the 16 between "parameters" and "gradients" in its summaries).
    this.conv.requiresGrad_(false);
  }

  /** @param x [B, 4 * c1, A] box logits @returns [B, 4, A] distances in bins */
  forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      const [b, , a] = x.shape;
      return (this.conv.call(x.view([b, 4, this.c1, a]).transpose(2, 1).softmax(1)) as Tensor).view([b, 4, a]);
    });
  }
}

export interface DetectOptions {
  /** DFL bins per box side (Ultralytics' reg_max, 16). */
  regMax?: number;
  /**
   * true: YOLOv8's class branch (two 3x3 Convs); false: YOLO11's depthwise-separable one
   * (DWConv 3x3 + Conv 1x1, twice). Ultralytics' parse_model sets legacy false when the model has C3k2.
   */
  legacy?: boolean;
  /** Strides of the input levels (8, 16, 32 for P3-P5), for the bias initialisation. */
  strides?: number[];
}

/**
 * Ultralytics' Detect head (anchor-free, decoupled): per level a box branch cv2 to 4 * regMax DFL
 * logits and a class branch cv3 to nc logits, concatenated along channels. This forward is
 * Ultralytics' training-mode output; decoding (DFL over anchor points) is the inference pipeline's.
 */
export class Detect extends nn.Module {
  /** Classes (changed only by replaceClasses). */
  nc: number;
  readonly nl: number;
  readonly regMax: number;
  /** Outputs per anchor: nc + 4 * regMax. */
  no: number;
  readonly stride: number[];
  readonly legacy: boolean;
  /** Channels of the input levels. */
  readonly ch: number[];
  cv2: nn.ModuleList;
  cv3: nn.ModuleList;
  dfl: nn.Module;

  constructor(nc: number, ch: number[], options: DetectOptions = {}) {
    super();
    const { regMax = 16, legacy = false, strides = [8, 16, 32] } = options;
    if (!Number.isInteger(nc) || nc < 1) throw new RangeError(`Detect: nc should be a positive integer, got ${nc}`);
    if (strides.length !== ch.length) throw new RangeError(`Detect: ${ch.length} input levels but ${strides.length} strides`);
    this.nc = nc;
    this.nl = ch.length;
    this.regMax = regMax;
    this.no = nc + regMax * 4;
    this.stride = [...strides];
    this.legacy = legacy;
    this.ch = [...ch];
    const c2 = Math.max(16, Math.floor(ch[0] / 4), regMax * 4);
    this.cv2 = new nn.ModuleList(ch.map((x) => new nn.Sequential(new Conv(x, c2, { kernelSize: 3 }), new Conv(c2, c2, { kernelSize: 3 }), new nn.Conv2d(c2, 4 * regMax, 1))));
    this.cv3 = this.classBranch(nc);
    this.dfl = regMax > 1 ? new DFL(regMax) : new nn.Identity();
  }

  /** cv3 for nc classes; its width c3 = max(ch[0], min(nc, 100)) depends on nc, as in Ultralytics. */
  private classBranch(nc: number): nn.ModuleList {
    const ch = this.ch;
    const c3 = Math.max(ch[0], Math.min(nc, 100));
    return new nn.ModuleList(
      ch.map((x) =>
        this.legacy
          ? new nn.Sequential(new Conv(x, c3, { kernelSize: 3 }), new Conv(c3, c3, { kernelSize: 3 }), new nn.Conv2d(c3, nc, 1))
          : new nn.Sequential(
              new nn.Sequential(new DWConv(x, x, { kernelSize: 3 }), new Conv(x, c3)),
              new nn.Sequential(new DWConv(c3, c3, { kernelSize: 3 }), new Conv(c3, c3)),
              new nn.Conv2d(c3, nc, 1),
            ),
      ),
    );
  }

  /**
   * A fresh class branch for `nc` classes (fine-tuning), its biases at bias_init's prior; the box
   * branch and DFL keep their weights.
   */
  replaceClasses(nc: number): void {
    if (!Number.isInteger(nc) || nc < 1) throw new RangeError(`Detect.replaceClasses: nc should be a positive integer, got ${nc}`);
    this.cv3 = this.classBranch(nc);
    this.nc = nc;
    this.no = nc + this.regMax * 4;
    torch.noGrad(() => this.initClassBias());
  }

  private initClassBias(): void {
    for (let i = 0; i < this.nl; i++) {
      const cls = [...(this.cv3.at(i) as nn.Sequential)].at(-1) as nn.Conv2d;
      cls.bias!.fill_(Math.log(5 / this.nc / (640 / this.stride[i]) ** 2));
    }
  }

  /**
   * Ultralytics' bias_init: box biases 1.0; class biases log(5 / nc / (640 / s)^2), a prior of
   * about 5 objects per 640 image spread over the level's cells.
   */
  biasInit(): void {
    torch.noGrad(() => {
      for (let i = 0; i < this.nl; i++) ([...(this.cv2.at(i) as nn.Sequential)].at(-1) as nn.Conv2d).bias!.fill_(1.0);
      this.initClassBias();
    });
  }

  /** @param x the P3-P5 maps [B, ch[i], H_i, W_i] @returns per level [B, 4 * regMax + nc, H_i, W_i] */
  forward(x: Tensor[]): Tensor[] {
    if (x.length !== this.nl) throw new RangeError(`Detect: expected ${this.nl} feature maps, got ${x.length}`);
    return x.map((xi, i) =>
      torch.tidy(() => torch.cat([this.cv2.at(i).call(xi) as Tensor, this.cv3.at(i).call(xi) as Tensor], 1)),
    );
  }
}
