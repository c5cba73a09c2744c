"""Building mmkd's distributions from a checkout, offline (no build isolation)."""
import glob
import os
import os.path as osp
import subprocess
import sys
from typing import Optional

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def run_python(*args: str, cwd: str, env: Optional[dict] = None) -> subprocess.CompletedProcess:
    """Run this interpreter with ``args``; fail the test with its output if it fails."""
    result = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, f'{args} failed:\n{result.stdout}\n{result.stderr}'
    return result


def pip_wheel(source: str, out_dir: str) -> str:
    """The wheel pip builds from ``source`` (a source tree or an sdist)."""
    os.makedirs(out_dir, exist_ok=True)
    run_python('-m', 'pip', 'wheel', '-q', '--no-deps', '--no-build-isolation', '-w', out_dir,
               source, cwd=out_dir)
    (wheel, ) = glob.glob(osp.join(out_dir, 'mmkd-*.whl'))
    return wheel
