// ViT-B/16 inference (eval, no grad) at 224x224, Iris vs torchvision in one run. Batch 1 by default:
// Debian's libtorch does its matrix products with the reference BLAS, about 10 s per image here.
//   node bench/dist/vit-forward.js [--batch=1 --size=224 --threads=2 --burst=1 --rounds=5 --warmup=1]
import { forwardBench } from './lib/forward.js';

await forwardBench({ model: 'vit_b_16', script: 'vit_forward.py', defaults: { batch: 1, size: 224, threads: 2, burst: 1, rounds: 5, warmup: 1 } });
