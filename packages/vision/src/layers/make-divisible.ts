// torchvision's _make_divisible (from TensorFlow's slim MobileNet): channel counts that are
// multiples of `divisor`, which width multipliers would otherwise break.

/**
 * `v` rounded to the nearest multiple of `divisor`, at least `minValue` (default `divisor`), and
 * never more than 10% below `v`.
 */
export function makeDivisible(v: number, divisor: number, minValue?: number): number {
  const newV = Math.max(minValue ?? divisor, Math.floor(Math.trunc(v + divisor / 2) / divisor) * divisor);
  return newV < 0.9 * v ? newV + divisor : newV;
}
