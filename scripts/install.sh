#!/usr/bin/env bash
# Create ./.venv with the pinned OpenMMLab stack and mmkd installed in editable mode.
#
# mmcv 2.1.0 has no PyPI wheel: a prebuilt wheel is taken from $MMKD_WHEELS (default
# ../shared/wheels) when one is there, otherwise it is compiled with its ops (~9 min on 2 cores).
# Torch is installed first and pinned so nothing pulls a newer (CUDA) build.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
WHEELS=${MMKD_WHEELS:-../shared/wheels}
STAMP="$VENV/.mmkd-installed"

if [ -f "$STAMP" ] && [ "$STAMP" -nt requirements.txt ] && [ "$STAMP" -nt pyproject.toml ]; then
    exit 0
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
# (this machine's pip config names index folders that may not exist: drop that noise)
pip() {
    "$VENV/bin/python" -m pip --disable-pip-version-check "$@" \
        2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}

pip install -q "torch==2.13.0"

if compgen -G "$WHEELS/mmcv-2.1.0-*.whl" >/dev/null; then
    echo "[install] mmcv 2.1.0 from local wheel directory $WHEELS"
    pip install -q --find-links "$WHEELS" "mmcv==2.1.0"
else
    echo "[install] no mmcv wheel in $WHEELS: compiling mmcv 2.1.0 with ops (about 10 minutes)"
    # mmcv 2.1's setup.py needs an old setuptools; requirements.txt restores a current one.
    pip install -q "setuptools<70" wheel
    MMCV_WITH_OPS=1 pip install -q --no-build-isolation "mmcv==2.1.0"
fi

pip install -q -r requirements.txt
pip install -q --no-build-isolation --no-deps -e .
touch "$STAMP"
echo "[install] done: $("$VENV/bin/python" -c 'import torch, mmcv, mmdet, mmengine, mmpretrain; print("torch", torch.__version__, "mmcv", mmcv.__version__, "mmdet", mmdet.__version__, "mmengine", mmengine.__version__, "mmpretrain", mmpretrain.__version__)')"
