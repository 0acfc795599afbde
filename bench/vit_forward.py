"""PyTorch side of bench/vit-forward: torchvision's ViT-B/16, eval, no grad (batch 1, 224x224 by
default). It answers "steps N" lines on stdin with JSON timings (see lib/compare.ts)."""
import sys

from forward_bench import serve

serve("vit_b_16", sys.argv[1])
