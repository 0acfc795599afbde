// Gamma and Beta variates on the seeded Rng (MixUp's and CutMix's lambda ~ Beta(alpha, alpha)).
import type { Rng } from '../data/rng.js';

/** Gamma(shape, 1) by Marsaglia & Tsang (2000); shape < 1 boosted as Gamma(shape + 1) * U^(1/shape). */
export function sampleGamma(rng: Rng, shape: number): number {
  if (!(shape > 0)) throw new RangeError(`sampleGamma: shape must be positive, got ${shape}`);
  if (shape < 1) return sampleGamma(rng, shape + 1) * Math.pow(1 - rng.random(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = rng.normal();
    let v = 1 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    const u = rng.random();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Beta(a, b) as X / (X + Y) of X ~ Gamma(a), Y ~ Gamma(b) (torch._sample_dirichlet's construction for two). */
export function sampleBeta(rng: Rng, a: number, b: number): number {
  const x = sampleGamma(rng, a);
  const y = sampleGamma(rng, b);
  return x / (x + y);
}
