# References for coco-eval.test.ts that need Python itself: numpy's linspace for COCOeval's
# thresholds, and the lines COCOeval.summarize() prints (its format string, Python's rounding).
import json
import sys

import numpy as np

# pycocotools/cocoeval.py, Params.setDetParams and COCOeval.summarize.
I_STR = ' {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = {:0.3f}'
SETTINGS = [
    (1, None, 'all', 100), (1, .5, 'all', 100), (1, .75, 'all', 100),
    (1, None, 'small', 100), (1, None, 'medium', 100), (1, None, 'large', 100),
    (0, None, 'all', 1), (0, None, 'all', 10), (0, None, 'all', 100),
    (0, None, 'small', 100), (0, None, 'medium', 100), (0, None, 'large', 100),
]


def summary(stats):
    iou_thrs = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)
    lines = []
    for (ap, iou_thr, area, max_dets), value in zip(SETTINGS, stats):
        title = 'Average Precision' if ap == 1 else 'Average Recall'
        kind = '(AP)' if ap == 1 else '(AR)'
        iou = '{:0.2f}:{:0.2f}'.format(iou_thrs[0], iou_thrs[-1]) if iou_thr is None else '{:0.2f}'.format(iou_thr)
        # summarize() prints the int -1 when nothing has ground truth.
        lines.append(I_STR.format(title, kind, iou, area, max_dets, -1 if value == -1 else value))
    return '\n'.join(lines)


request = json.load(sys.stdin)
json.dump({
    'iouThrs': np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True).tolist(),
    'recThrs': np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1, endpoint=True).tolist(),
    'summaries': [summary(stats) for stats in request['stats']],
}, sys.stdout)
