"""Runtime adjustments shared by tools/train.py and tools/test.py."""
import torch
from mmengine.config import Config


def prepare_runtime_config(cfg: Config) -> Config:
    """Make a config run where it is launched.

    On a machine without CUDA, distributed runs use the gloo backend and the DDP wrapper
    gets no ``device_ids`` (mmengine passes the local rank, which only exists for GPUs).
    """
    cfg.setdefault('default_scope', 'mmdet')
    if cfg.get('launcher', 'none') != 'none' and not torch.cuda.is_available():
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
        wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel')
        wrapper.setdefault('broadcast_buffers', False)
        wrapper.setdefault('find_unused_parameters', cfg.get('find_unused_parameters', False))
        wrapper['device_ids'] = None
        cfg.model_wrapper_cfg = wrapper
    return cfg
