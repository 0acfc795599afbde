"""PyTorch side of bench/resnet50-forward: torchvision's ResNet-50, eval, no grad (batch 8, 224x224 by
default). It answers "steps N" lines on stdin with JSON timings (see lib/compare.ts)."""
import sys

from forward_bench import serve

serve("resnet50", sys.argv[1])
