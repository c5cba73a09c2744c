"""mmkd installed into a separate, user-made mmdet environment (scripts/check_plugin_install.sh):
torch stays the user's, and mmdet's own train script distils from a project config that
inherits a shipped mmkd config."""
import glob
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest
from build_helpers import ROOT

WHEELS = osp.abspath(osp.join(ROOT, os.environ.get('MMKD_WHEELS', '../shared/wheels')))


@pytest.mark.skipif(not glob.glob(osp.join(WHEELS, 'mmcv-2.1.0-*.whl')),
                    reason=f'no mmcv 2.1.0 wheel in {WHEELS} (set MMKD_WHEELS): the user '
                    'environment needs one, and compiling mmcv takes about 10 minutes')
def test_mmkd_installs_into_a_user_mmdet_environment(tmp_path):
    work = tmp_path / 'check'
    env = dict(os.environ, MMKD_WHEELS=WHEELS, PYTHON=sys.executable)
    try:
        result = subprocess.run(['bash', osp.join(ROOT, 'scripts', 'check_plugin_install.sh'),
                                 str(work)], env=env, capture_output=True, text=True,
                                timeout=900)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the environment takes ~1.7 GB
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    (added, ) = [line for line in result.stdout.splitlines()
                 if line.startswith('[check] packages pip added or changed:')]
    assert added.split(':', 1)[1].split() == ['mmkd'], added
    assert '[check] torch kept: 2.13.0' in result.stdout
    assert '[check] trained 2 iterations with the ReviewKD loss' in result.stdout
