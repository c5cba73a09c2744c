"""Runtime set-up shared by tools/train.py and tools/test.py."""
import torch
import torch.distributed as dist
from mmengine.config import Config


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
