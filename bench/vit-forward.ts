// ViT-B/16 inference (eval, no grad) at 224x224, Iris vs torchvision in one run. Batch 1 by default:
// both sides' matrix products go through the system BLAS (OpenBLAS after bootstrap), ~0.6 s an image here.
//   node bench/dist/vit-forward.js [--batch=1 --size=224 --threads=2 --burst=1 --rounds=5 --warmup=1]
import { forwardBench } from './lib/forward.js';

await forwardBench({ model: 'vit_b_16', script: 'vit_forward.py', defaults: { batch: 1, size: 224, threads: 2, burst: 1, rounds: 5, warmup: 1 } });
