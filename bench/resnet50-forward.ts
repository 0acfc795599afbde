// ResNet-50 inference (eval, no grad), batch 8 at 224x224 by default, Iris vs torchvision in one run.
//   node bench/dist/resnet50-forward.js [--batch=8 --size=224 --threads=2 --burst=2 --rounds=15 --warmup=2]
import { forwardBench } from './lib/forward.js';

await forwardBench({ model: 'resnet50', script: 'resnet50_forward.py', defaults: { batch: 8, size: 224, threads: 2, burst: 2, rounds: 15, warmup: 2 } });
