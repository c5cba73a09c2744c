"""configs/demo/: the demo pairs' method configs train a step and name their method and
work dir."""
import os.path as osp

from mmengine.config import Config

from experiments.catalog import demo_methods

from helpers import DEMO_METHODS, build_small, demo_config, train_one_step


def test_retinanet_demo_configs_train_one_step(configs_dir, shapes_data, tmp_path):
    """configs/demo/retinanet_<method>.py (tools/demo.py --detector retinanet): every
    method's distillers, gathered in one model of the demo pair, train a step."""
    demo = osp.join(configs_dir, 'demo')
    distillers = {}
    methods = ('reviewkd', 'fgfi', 'fitnet', 'kd', 'fgd', 'pkd', 'bckd', 'crosskd')
    assert set(methods) == set(demo_methods('retinanet', demo)) - {'baseline'}
    for method in methods:
        config = Config.fromfile(osp.join(demo, f'retinanet_{method}.py'))
        distillers.update(config.model.distillers)
    cfg = Config.fromfile(osp.join(demo, f'retinanet_{method}.py'))
    cfg.model.distillers = distillers
    assert Config.fromfile(osp.join(demo, 'retinanet_teacher.py')).model.neck.out_channels == 128
    model, data = build_small(cfg, shapes_data, tmp_path)
    assert model.distillers['kd'].kind == 'dense'
    losses = train_one_step(model, data)
    assert {key.split('_')[1] for key in losses} == set(distillers)


def test_demo_configs_name_their_method_and_work_dir(configs_dir):
    # (all four are built and run together by the all_methods_model fixture)
    for method in DEMO_METHODS:
        cfg = Config.fromfile(demo_config(configs_dir, method))
        assert list(cfg.model.distillers) == [method]
        assert cfg.work_dir == f'work_dirs/demo/faster-rcnn_{method}'
