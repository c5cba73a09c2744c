"""mmkd.checkpoint: checkpoints restore values, never behaviour, and wrong files are named for
what they are (also by the tools)."""
import os.path as osp
import pickle
from unittest import mock

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import HistoryBuffer
from mmengine.runner import Runner

from mmkd.checkpoint import load_checkpoint_file, load_teacher_checkpoint
from mmkd.engine import CheckpointGuardHook, add_reliability_hooks
from mmkd.export import export_detector
from mmkd.testing import small_run_config

from helpers import FITNET, dump, load, run_tool


@pytest.fixture(autouse=True)
def default_statistics_registered():
    """mmengine registers HistoryBuffer's default statistics when the process makes its first
    buffer; make one, so that what the tests compare against holds them whichever tests ran
    before."""
    HistoryBuffer()


def test_checkpoint_cannot_replace_history_buffer_methods(resumed, tmp_path, monkeypatch):
    methods = dict(HistoryBuffer._statistics_methods)
    crafted = str(tmp_path / 'crafted.pth')
    with monkeypatch.context() as patch:  # a writer that ships statistics_methods
        patch.setattr(HistoryBuffer, '__getstate__', lambda self: dict(
            self.__dict__, statistics_methods={'mean': 'max', 'evil': 'min'}))
        torch.save(load(resumed['checkpoint']), crafted)
    buffers = load(crafted)['message_hub']['log_scalars']
    assert HistoryBuffer._statistics_methods == methods
    assert buffers['train/loss'].mean() == buffers['train/loss'].statistics('mean')

    shadowing = str(tmp_path / 'shadowing.pth')
    with monkeypatch.context() as patch:  # an attribute that would shadow a method
        patch.setattr(HistoryBuffer, '__getstate__',
                      lambda self: dict(self.__dict__, mean='not a method'))
        torch.save(load(resumed['checkpoint']), shadowing)
    with pytest.raises(ValueError, match=r"unexpected attributes \['mean'\]"):
        load(shadowing)

    # a later resume (from the crafted file: its values are fine) trains and logs
    cfg = Config.fromfile(resumed['config'])
    cfg.work_dir, cfg.train_cfg.max_iters = str(tmp_path / 'work'), 5
    cfg.resume, cfg.load_from = True, crafted
    cfg.randomness = dict(seed=0)
    add_reliability_hooks(cfg)
    Runner.from_cfg(cfg).train()
    assert osp.isfile(tmp_path / 'work/iter_5.pth')
    assert HistoryBuffer._statistics_methods == methods


@pytest.fixture
def wrong_files(tmp_path):
    files = dict(empty=tmp_path / 'empty.pth', listed=tmp_path / 'list.pth',
                 directory=tmp_path / 'dir.pth', text=tmp_path / 'notes.pth',
                 pickled=tmp_path / 'pickled.pth')
    files['empty'].write_bytes(b'')
    torch.save([1, 2, 3], files['listed'])
    files['directory'].mkdir()
    files['text'].write_text('not a checkpoint\n')
    files['pickled'].write_bytes(pickle.dumps([1, 2]))
    return {k: str(v) for k, v in files.items()}


MESSAGES = dict(empty=r'is an empty file \(0 bytes', listed=r'holds a list, not a checkpoint',
                directory=r'is a directory; expected a checkpoint file',
                text=r'is not a file written by torch.save',
                pickled=r'is not a file written by torch.save .*Unsupported operand')


@pytest.mark.parametrize('kind', sorted(MESSAGES))
def test_wrong_checkpoint_files_say_what_they_are(kind, wrong_files, tmp_path):
    path = wrong_files[kind]
    with pytest.raises((ValueError, IsADirectoryError), match=MESSAGES[kind]):
        load_checkpoint_file(path)
    with pytest.raises((ValueError, IsADirectoryError), match='Teacher checkpoint .*'
                       + MESSAGES[kind]):
        load_teacher_checkpoint(torch.nn.Linear(2, 2), path)
    with pytest.raises((ValueError, IsADirectoryError), match=MESSAGES[kind]):
        export_detector(FITNET, path, str(tmp_path / 'out'))


def test_tools_name_wrong_checkpoint_files(resumed, shapes_data, wrong_files, tmp_path):
    test_config = dump(small_run_config(FITNET, shapes_data, str(tmp_path), image_size=64,
                                        val=True), tmp_path / 'test_cfg.py')
    output = run_tool('tools/test.py', test_config, wrong_files['empty'],
                      '--work-dir', str(tmp_path), expect_ok=False)
    assert 'is an empty file (0 bytes' in output
    output = run_tool('tools/test.py', test_config, wrong_files['listed'],
                      '--work-dir', str(tmp_path), expect_ok=False)
    assert 'holds a list, not a checkpoint' in output
    output = run_tool('tools/train.py', resumed['config'], '--work-dir', str(tmp_path),
                      '--resume', wrong_files['directory'], expect_ok=False)
    assert "--resume checkpoint '" in output and 'is a directory' in output
    # what the hook tools/train.py adds says of a weights-only file given to --resume
    runner = mock.Mock(_resume=True, _load_from='weights.pth')
    with pytest.raises(ValueError, match=r"'weights.pth' holds weights only .* cannot resume"):
        CheckpointGuardHook().after_load_checkpoint(runner, dict(state_dict={}))
