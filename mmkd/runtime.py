"""Config loading and runtime set-up shared by tools/train.py and tools/test.py."""
import os.path as osp
from typing import Optional

import torch
import torch.distributed as dist
from mmengine.config import Config


def load_config(path: str, launcher: str = 'none', cfg_options: Optional[dict] = None,
                work_dir: Optional[str] = None) -> Config:
    """The config at ``path`` with mmdet's CLI conventions applied: ``--cfg-options``
    merged, and the work dir from ``--work-dir``, the config, or
    ``./work_dirs/<config name>``, in that order."""
    cfg = Config.fromfile(path)
    cfg.launcher = launcher
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(path))[0])
    return cfg


def setup_runtime(cfg: Config) -> Config:
    """Make a config run where it is launched.

    On a machine without CUDA, distributed runs use gloo: the process group is started
    here (mmengine's ``init_dist`` calls ``torch.cuda.set_device``, which a CPU build
    lacks) and the DDP wrapper gets no ``device_ids`` (mmengine passes the local rank,
    which only means something for GPUs).
    """
    cfg.setdefault('default_scope', 'mmdet')
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available():
        return cfg
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel')
    wrapper.setdefault('broadcast_buffers', False)
    wrapper.setdefault('find_unused_parameters', cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    if launcher == 'pytorch' and not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    return cfg
