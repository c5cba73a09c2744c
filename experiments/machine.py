"""What machine a measurement ran on, and the environment of the subprocesses."""
import os
import os.path as osp
import platform
import warnings
from typing import Dict, Optional

# mmengine imports pkg_resources when it resolves an 'mmdet::' config path, and recent
# setuptools warn on that import. The warning names no fix a demo user could apply, so
# this one message is hidden (all other warnings still show).
PKG_RESOURCES_WARNING = 'pkg_resources is deprecated as an API'


def hide_pkg_resources_warning() -> None:
    """Hide the pkg_resources deprecation warning in this process."""
    warnings.filterwarnings('ignore', message=PKG_RESOURCES_WARNING, category=UserWarning)


def subprocess_env(threads: Optional[int] = None) -> Dict[str, str]:
    """This process's environment for a training or measuring subprocess: the
    pkg_resources warning hidden there too, and ``threads`` CPU threads if given."""
    env = dict(os.environ)
    rule = f'ignore:{PKG_RESOURCES_WARNING}:UserWarning'
    env['PYTHONWARNINGS'] = ','.join(filter(None, (env.get('PYTHONWARNINGS'), rule)))
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    return env


def machine_info(threads: Optional[int] = None, device: Optional[str] = None) -> dict:
    """CPU model and count, threads, platform and versions (and the GPU on ``cuda``)."""
    import torch

    import mmkd
    cpu = platform.processor()
    if osp.isfile('/proc/cpuinfo'):
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    info = dict(cpu=cpu, cpu_count=os.cpu_count(), threads=threads or torch.get_num_threads(),
                platform=platform.platform(), python=platform.python_version(),
                torch=torch.__version__, mmkd=mmkd.__version__)
    if device is not None:
        info['device'] = device
        if device == 'cuda':
            info['gpu'] = torch.cuda.get_device_name(0)
    return info
