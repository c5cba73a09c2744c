"""tools/dist_train.sh: a two-process CPU DDP run."""
import os
import os.path as osp
import subprocess
import sys

import torch

from mmkd.testing import small_run_config

from helpers import ROOT


def test_two_process_cpu_ddp(configs_dir, shapes_data, tmp_path):
    """tools/dist_train.sh with 2 gloo processes: both ranks train, the teacher stays put,
    and loss_balance's all-reduce runs on both (a rank left out would hang the run)."""
    cfg = small_run_config(osp.join(configs_dir, 'fitnet/faster-rcnn_r101-r18_fpn_1x_coco.py'),
                           shapes_data, str(tmp_path), max_iters=2, batch_size=1)
    cfg.model.teacher.backbone.depth = 50  # the lighter teacher keeps this test short
    cfg.model.loss_balance = dict(warmup_iters=1)
    config = str(tmp_path / 'config.py')
    cfg.dump(config)
    env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS='1',
               PORT=str(29500 + os.getpid() % 1000))
    result = subprocess.run(['bash', 'tools/dist_train.sh', config, '2', '--work-dir',
                             str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert 'Distributed training: True' in output and 'GPU number: 2' in output  # (processes)
    checkpoint = torch.load(str(tmp_path / 'iter_2.pth'), weights_only=True)
    assert any(k.startswith('distillers.fitnet.adapters') for k in checkpoint['state_dict'])
    assert int(checkpoint['state_dict']['loss_balance.fitnet.steps']) == 1
    assert "distiller 'fitnet' scale frozen at" in output
