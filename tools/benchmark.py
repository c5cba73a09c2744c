"""Training-step cost of the distillation methods: time per iteration, its ratio to the
floor (student-only step + teacher backbone/neck forward without grad), peak memory and
the aten operators a step dispatches (experiments.benchmark; each case measured by
experiments.cost).

Usage:
    python tools/benchmark.py [cost|scaling|batch|train] [--detectors faster mask ...]
        [--methods none fitnet fgfi reviewkd kd ...] [--image-size 256|1333x800]
        [--batch-size 2] [--sizes 128 256 384] [--batches 1 2 4] [--iters 5] [--warmup 2]
        [--floor-every N] [--threads N] [--device cpu|cuda] [--amp]
        [--teacher-precision fp32|fp16|bf16] [--in-process]
        [--pair r101-r18|r50-mv2|r101-r50|demo] [--out FILE.json]

Exit status 1 when a case failed (the others still run and are reported).
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from experiments.benchmark import main  # noqa: E402

if __name__ == '__main__':
    results = main()['results']
    sys.exit(1 if any('error' in r for r in results) else 0)
