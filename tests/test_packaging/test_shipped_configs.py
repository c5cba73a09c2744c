"""``mmkd::<path>`` resolution against an installed wheel, and the standalone config copies
(``python -m mmkd.configs copy``) that a user's own project inherits."""
import os
import os.path as osp
import textwrap

import pytest
from build_helpers import run_python
from mmengine.config import Config

from mmkd.config import resolve_config_path
from mmkd.configs import copy_config
from mmkd.registry import MODELS
from mmkd.testing import small_model

REVIEWKD = 'reviewkd/faster-rcnn_r101-r18_fpn_1x_coco.py'


def run_installed(site: str, *args: str, cwd: str):
    """Run Python with mmkd imported from the unpacked wheel at ``site``."""
    env = dict(os.environ, PYTHONPATH=site, OMP_NUM_THREADS='1')
    return run_python(*args, cwd=cwd, env=env)


def test_mmkd_paths_resolve_to_the_installed_configs(installed_wheel, tmp_path):
    check = textwrap.dedent(f'''
        import os.path as osp, sys
        import mmkd
        from mmkd.config import detector_config, load_config, resolve_config_path
        site = sys.argv[1]
        assert mmkd.__file__.startswith(site), mmkd.__file__
        shipped = osp.join(site, 'mmkd', '.mim', 'configs')
        assert resolve_config_path('mmkd::{REVIEWKD}') == osp.join(shipped, '{REVIEWKD}')
        # a teacher/student given by cfg_path, with overrides merged into the file's model
        student = detector_config(
            dict(cfg_path='mmkd::baselines/faster-rcnn_r18_fpn_1x_coco.py',
                 roi_head=dict(bbox_head=dict(num_classes=3))), 'student')
        assert student.backbone.depth == 18 and student.roi_head.bbox_head.num_classes == 3
        # the config argument of mmkd's tools
        cfg = load_config('mmkd::{REVIEWKD}')
        assert cfg.model.type == 'mmkd.DistillationDetector', cfg.model.type
        assert list(cfg.model.distillers) == ['reviewkd'], cfg.model.distillers
        assert cfg.work_dir == './work_dirs/faster-rcnn_r101-r18_fpn_1x_coco', cfg.work_dir
        try:
            resolve_config_path('mmkd::reviewkd/no-such-config.py', 'teacher')
        except FileNotFoundError as error:
            assert osp.join(shipped, 'reviewkd', 'no-such-config.py') in str(error), error
        else:
            raise AssertionError('a missing mmkd:: config resolved')
    ''')
    run_installed(installed_wheel, '-c', check, installed_wheel, cwd=str(tmp_path))


def test_configs_command_lists_and_copies_installed_configs(installed_wheel, tmp_path):
    listed = run_installed(installed_wheel, '-m', 'mmkd.configs', 'list', 'reviewkd/',
                           cwd=str(tmp_path)).stdout.split()
    shipped = osp.join(installed_wheel, 'mmkd', '.mim', 'configs', 'reviewkd')
    assert sorted(listed) == sorted(f'mmkd::reviewkd/{name}' for name in os.listdir(shipped)
                                    if name.endswith('.py'))
    assert f'mmkd::{REVIEWKD}' in listed

    (tmp_path / 'configs').mkdir()
    written = run_installed(installed_wheel, '-m', 'mmkd.configs', 'copy', f'mmkd::{REVIEWKD}',
                            'configs', cwd=str(tmp_path)).stdout.strip()
    assert written == osp.join('configs', osp.basename(REVIEWKD))
    copied = Config.fromfile(str(tmp_path / written))
    assert copied.to_dict() == Config.fromfile(osp.join(shipped, osp.basename(REVIEWKD))).to_dict()


@pytest.mark.parametrize('config', [REVIEWKD, 'fgd/retinanet_x101-r50_fpn_2x_coco.py',
                                    'kd/mask-rcnn_r101-r18_fpn_1x_coco.py'])
def test_standalone_copy_is_the_config_without_bases(config, configs_dir, tmp_path):
    original = osp.join(configs_dir, config)
    written = copy_config(original, str(tmp_path))
    assert written == str(tmp_path / osp.basename(config))
    with open(written) as f:
        assert not any(line.startswith('_base_') for line in f)
    assert Config.fromfile(written).to_dict() == Config.fromfile(original).to_dict()


def test_project_config_inherits_a_copy(configs_dir, tmp_path):
    copy_config(osp.join(configs_dir, REVIEWKD), str(tmp_path / 'reviewkd.py'))
    project_config = tmp_path / 'my_reviewkd.py'
    project_config.write_text(textwrap.dedent('''
        _base_ = './reviewkd.py'
        model = dict(teacher_ckpt='checkpoints/my_teacher.pth',
                     distillers=dict(reviewkd=dict(loss=dict(loss_weight=0.5))))
    '''))
    cfg = Config.fromfile(str(project_config))
    original = Config.fromfile(osp.join(configs_dir, REVIEWKD))
    assert cfg.model.teacher_ckpt == 'checkpoints/my_teacher.pth'
    assert cfg.model.distillers.reviewkd.loss.loss_weight == 0.5
    assert (cfg.model.distillers.reviewkd.loss.pool_sizes
            == original.model.distillers.reviewkd.loss.pool_sizes)
    assert cfg.model.student == original.model.student
    assert cfg.train_dataloader == original.train_dataloader

    model = MODELS.build(small_model(cfg.model, num_classes=3))
    assert type(model).__name__ == 'DistillationDetector'
    assert model.student.backbone.depth == 18 and model.teacher.backbone.depth == 101


def test_copy_keeps_an_existing_file_unless_told(configs_dir, tmp_path):
    destination = tmp_path / 'reviewkd.py'
    destination.write_text('# my edits\n')
    with pytest.raises(FileExistsError, match='--overwrite'):
        copy_config(osp.join(configs_dir, REVIEWKD), str(destination))
    assert destination.read_text() == '# my edits\n'
    copy_config(osp.join(configs_dir, REVIEWKD), str(destination), overwrite=True)
    assert Config.fromfile(str(destination)).model.distillers.reviewkd.type == 'ReviewKD'


def test_unknown_package_is_named():
    with pytest.raises(FileNotFoundError, match="teacher config 'nopackage::a.py': package "
                       "'nopackage' is not installed"):
        resolve_config_path('nopackage::a.py', 'teacher')
