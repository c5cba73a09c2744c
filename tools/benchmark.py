"""Training-step cost of the distillation methods: time per iteration, its ratio to the
floor (student-only step + teacher backbone/neck forward without grad), peak memory and
the aten operators a step dispatches (experiments.benchmark; each case measured by
experiments.cost).

Usage:
    python tools/benchmark.py [cost|scaling|batch] [--detectors faster mask ...]
        [--methods none fitnet fgfi reviewkd kd ...] [--image-size 256] [--batch-size 2]
        [--sizes 128 256 384] [--batches 1 2 4] [--iters 5] [--warmup 2] [--threads N]
        [--device cpu|cuda] [--amp] [--teacher-precision fp32|fp16|bf16]
        [--pair r101-r18|r50-mv2|r101-r50|demo] [--out FILE.json]
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from experiments.benchmark import main  # noqa: E402

if __name__ == '__main__':
    main()
