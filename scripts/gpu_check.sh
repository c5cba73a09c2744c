#!/usr/bin/env bash
# The test suite, the GPU cost benchmark and the training throughput on a CUDA machine
# without internet access.
#
#   scripts/gpu_check.sh [WHEEL_DIR]            (default: .gpu)
#
# WHEEL_DIR holds, one version each, wheels of what the machine's Python lacks (mmengine,
# mmdet, mmpretrain and their dependencies, and setuptools 80, whose pkg_resources mmengine
# and mmcv's setup.py import) and the mmcv 2.1.0 source (mmcv-2.1.0.tar.gz), or instead an
# mmcv wheel that this script built before. The machine's own torch, torchvision and CUDA
# toolkit are used as they are; nothing is fetched. Made, for Python 3.12, on a machine
# with internet access (the mmcv source needs torch installed to be downloaded):
#   pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 -d .gpu \
#     mmengine==0.10.7 mmdet==3.3.0 mmpretrain==1.2.0 setuptools==80.10.2 addict==2.4.0 \
#     termcolor==3.3.0 yapf==0.43.0 platformdirs==4.14.8 pycocotools==2.0.11 shapely==2.2.0 \
#     terminaltables==3.1.10 mat4py==0.6.0 modelindex==0.0.2 model-index==0.1.11 \
#     ordered-set==4.1.0 importlib-metadata==10.2.0 lazy-importer==0.1.0
#   pip download --no-deps --no-binary=:all: --no-build-isolation -d .gpu mmcv==2.1.0
#
# Phases, each timed; the suite runs even when the benchmark fails:
#   env      GPU, Python, torch, nvcc, host compiler; CUDA_HOME, and the cuBLAS/cuSPARSE/
#            cuSOLVER headers (from pip's nvidia packages when the toolkit lacks them)
#   install  the wheels into $TARGET with pip --no-index --no-deps; $TARGET goes on PYTHONPATH
#   mmcv     mmcv 2.1.0 compiled with its CUDA ops for this GPU (TORCH_CUDA_ARCH_LIST, default
#            the GPU's own), installed into $TARGET, and the wheel kept in $OUT for reuse
#            (parts of 15 MiB when larger: cat them back together). Left out of the build:
#            filtered_lrelu (StyleGAN3's op, used by neither mmdet nor mmkd), whose one file
#            compiles for minutes on one core and would set the length of the whole build;
#            MMCV_FULL_BUILD=1 keeps it. The CUDA files are compiled first, largest first.
#   ops      imports of the stack and mmkd; mmcv's CUDA nms and RoIAlign (forward and
#            backward) against torchvision's
#   bench    tools/benchmark.py $BENCH_ARGS once per precision of $BENCH_PRECISIONS, in that
#            order -> $OUT/bench_<precision>.json/.md. Default: cost mode at 1333x800, batch
#            2, 30 measured iterations after 3 (floor timed every 3rd), every method of the
#            R101 -> R18 Faster R-CNN and RetinaNet pairs, in one process per precision;
#            precisions fp32, amp (AmpOptimWrapper, fp16), amp_teacher-fp16,
#            fp32_teacher-fp16 (teacher_precision='fp16'). Each case's result is written as
#            it is measured: what the budget cuts off is the last precisions' last cases.
#   tests    pytest tests -x on the CPU with CUDA hidden, as in CI -> $OUT/pytest.log, with
#            the durations of the slowest tests
#   train    tools/benchmark.py $TRAIN_ARGS: tools/train.py's own time per iteration for
#            FitNet and FGD against the plain student (Faster R-CNN R101 -> R18, 1333x800,
#            batch 2, median of 20 iterations after 10) -> $OUT/train.json/.md. Runs after
#            the benchmark (not beside it: both time the GPU); the bench phase ends
#            TRAIN_RESERVE seconds (default 150) before the budget to leave it that time.
# On 8 or more cores the benchmark (4 cores, --threads 4) and the suite (the other cores,
# pytest-xdist when installed) run side by side; SERIAL=1 runs them one after the other.
#
# Environment: OUT (default work_dirs/gpu_check), TARGET (/tmp/mmkd-site), BUDGET (seconds
# for the whole script, default 600: phases are cut short to end within it), PHASES (the
# phases to run, default 'env install mmcv ops bench tests train'), DEVICE (cuda; cpu runs
# bench and train on the CPU, e.g. PHASES='bench train' DEVICE=cpu with small BENCH_ARGS /
# TRAIN_ARGS to try them without a GPU), BENCH_ARGS, BENCH_PRECISIONS, TRAIN_ARGS,
# TRAIN_RESERVE, TEST_ARGS (extra pytest arguments), TEST_GPU=1 (leave CUDA visible to the
# tests), SERIAL, TORCH_CUDA_ARCH_LIST, MAX_JOBS, MMCV_FULL_BUILD, PYTHON.
# Output: $OUT/gpu_check.log (everything below), mmcv_build.log, bench_*.json/.md,
# train.json/.md (and train_runs/: configs and logs of the runs), pytest.log and the mmcv
# wheel. Exit status 0 when every phase passed.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
WHEEL_ARG=${1:-.gpu}
OUT=${OUT:-$ROOT/work_dirs/gpu_check}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
TARGET=${TARGET:-/tmp/mmkd-site}
WORK=${WORK:-/tmp/mmkd-gpu-check}
BUDGET=${BUDGET:-600}
PHASES_WANTED=${PHASES:-env install mmcv ops bench tests train}
DEVICE=${DEVICE:-cuda}
BENCH_ARGS=${BENCH_ARGS:-cost --image-size 1333x800 --batch-size 2 --iters 30 --warmup 3 \
--floor-every 3 --detectors faster retinanet --in-process}
BENCH_PRECISIONS=${BENCH_PRECISIONS:-fp32 amp amp_teacher-fp16 fp32_teacher-fp16}
TRAIN_ARGS=${TRAIN_ARGS:-train --image-size 1333x800 --batch-size 2 --iters 20 --warmup 10 \
--detectors faster --methods none fitnet fgd}
TRAIN_RESERVE=${TRAIN_RESERVE:-150}
PY=${PYTHON:-python3}
export PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1
STARTED=$(date +%s)

declare -A SECS STATUS
PHASES=()

remaining() { echo $((STARTED + BUDGET - $(date +%s))); }
# a timeout that ends SLACK seconds before the budget does (at least 1s: timeout 0 is none)
until_budget() { local t=$(($(remaining) - $1)); echo $((t > 1 ? t : 1)); }
stamp() { echo; echo "=== [$(($(date +%s) - STARTED))s] $*"; }
# record NAME SECONDS STATUS
record() { PHASES+=("$1"); SECS[$1]=$2; STATUS[$1]=$3; }

phase_env() {
    nvidia-smi --query-gpu=name,memory.total --format=csv || return 1
    nvidia-smi --query-gpu=driver_version,compute_cap --format=csv,noheader || true
    # the interpreter's own bin first: ninja, and anything else pip installed beside it
    PATH="$("$PY" -c 'import os, sys; print(os.path.dirname(sys.executable))'):$PATH"
    export PATH
    "$PY" - <<'EOF' || return 1
import platform, torch, torchvision
print(f'Python {platform.python_version()} ({platform.machine()}), torch {torch.__version__} '
      f'(CUDA {torch.version.cuda}), torchvision {torchvision.__version__}')
assert torch.cuda.is_available(), 'torch sees no CUDA device'
print(f'GPU: {torch.cuda.get_device_name(0)}, capability '
      f'{".".join(map(str, torch.cuda.get_device_capability(0)))}')
EOF
    if [ -z "${CUDA_HOME:-}" ]; then
        # nvcc may be a wrapper script outside the toolkit: ask it where it lives
        local top
        top=$(nvcc --dryrun -c -x cu /dev/null -o /dev/null 2>&1 | sed -n 's/^#\$ TOP=//p' | head -1)
        for dir in ${top:+"$top"} /usr/local/cuda; do
            if [ -x "$dir/bin/nvcc" ]; then CUDA_HOME=$(cd "$dir" && pwd -P); break; fi
        done
    fi
    [ -n "${CUDA_HOME:-}" ] || { echo "No CUDA toolkit (nvcc) found: set CUDA_HOME."; return 1; }
    export CUDA_HOME
    echo "CUDA_HOME=$CUDA_HOME: $("$CUDA_HOME/bin/nvcc" --version | tail -2 | head -1)"
    echo "host compiler: $(${CXX:-c++} --version | head -1)"
    if ninja --version >/dev/null 2>&1; then
        echo "ninja $(ninja --version)"
    else  # without ninja torch compiles the ~140 files one by one
        echo "ninja not found: mmcv would compile serially"; return 1
    fi
    # torch's CUDA headers include these; pip-installed toolkits keep them in nvidia/*/include
    local missing=() header dirs
    for header in cublas_v2.h cublasLt.h cusparse.h cusolverDn.h; do
        [ -f "$CUDA_HOME/include/$header" ] || missing+=("$header")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        dirs=$("$PY" - "${missing[@]}" <<'EOF'
import glob, os, sys
import nvidia  # namespace package of pip's CUDA libraries
found = []
for header in sys.argv[1:]:
    hits = [h for p in nvidia.__path__ for h in glob.glob(os.path.join(p, '*', 'include', header))]
    if not hits:
        sys.exit(f'{header}: in neither CUDA_HOME/include nor a pip nvidia package')
    if os.path.dirname(hits[0]) not in found:
        found.append(os.path.dirname(hits[0]))
print(':'.join(found))
EOF
        ) || return 1
        export CPATH="$dirs${CPATH:+:$CPATH}"
        echo "headers ${missing[*]} from $dirs (CPATH)"
    fi
    if [ ! -e "$CUDA_HOME/lib64/libcudart.so" ] && [ ! -e "$CUDA_HOME/lib/libcudart.so" ]; then
        local cudart
        cudart=$("$PY" -c "import glob, nvidia
print(sorted(h for p in nvidia.__path__ for h in glob.glob(p + '/*/lib/libcudart.so*'))[0])") \
            || { echo "no libcudart.so to link mmcv against"; return 1; }
        mkdir -p "$WORK/lib"
        ln -sf "$cudart" "$WORK/lib/libcudart.so"
        export LIBRARY_PATH="$WORK/lib${LIBRARY_PATH:+:$LIBRARY_PATH}"
        echo "libcudart.so for linking: $cudart"
    fi
}

wheel_dir() {
    [ -d "$WHEEL_ARG" ] || { echo "no wheel folder $WHEEL_ARG"; return 1; }
    WHEELS=$(cd "$WHEEL_ARG" && pwd)
}

phase_install() {
    local wheels=()
    wheel_dir || return 1
    mapfile -t wheels < <(ls "$WHEELS"/*.whl)
    echo "${#wheels[@]} wheels from $WHEELS into $TARGET"
    "$PY" -m pip install -q --no-deps --no-compile --upgrade --target "$TARGET" "${wheels[@]}" \
        || return 1
    # mmpretrain 1.2 fails to import its models beside transformers 5 (its BLIP classes then
    # subclass None); it needs no transformers for mmkd, so a shim hides it.
    mkdir -p "$WORK/hide/transformers"
    echo "raise ImportError('hidden by gpu_check.sh: mmpretrain 1.2 predates transformers 5')" \
        >"$WORK/hide/transformers/__init__.py"
    export PYTHONPATH="$WORK/hide:$TARGET:$ROOT${PYTHONPATH:+:$PYTHONPATH}"
}

# mmcv's setup.py compiles every file under mmcv/ops/csrc; this drops filtered_lrelu (its
# file and its one registration in cudabind.cpp) and puts the CUDA files first, largest
# first, so that ninja does not start the slowest files last.
patch_mmcv() {
    "$PY" - "$1" <<'EOF'
import os, sys
src = sys.argv[1]
setup_py = os.path.join(src, 'setup.py')
with open(setup_py) as f:
    text = f.read()
anchor = '            extension = CUDAExtension\n'
assert text.count(anchor) == 1, 'unexpected mmcv setup.py'
order = ("            op_files.sort(key=lambda f: (not f.endswith('.cu'), "
         "-os.path.getsize(f)))\n")
with open(setup_py, 'w') as f:
    f.write(text.replace(anchor, order + anchor))
if os.environ.get('MMCV_FULL_BUILD') != '1':
    cuda = os.path.join(src, 'mmcv', 'ops', 'csrc', 'pytorch', 'cuda')
    os.remove(os.path.join(cuda, 'filtered_lrelu.cu'))
    with open(os.path.join(cuda, 'cudabind.cpp')) as f:
        lines = f.readlines()
    kept = [l for l in lines if not l.startswith('REGISTER_DEVICE_IMPL(filtered_lrelu')]
    assert len(lines) - len(kept) == 1, 'unexpected mmcv cudabind.cpp'
    with open(os.path.join(cuda, 'cudabind.cpp'), 'w') as f:
        f.writelines(kept)
    print('filtered_lrelu left out of the build')
EOF
}

# a file that comes back from the device machine must stay under 16 MiB
shrink_build_log() {
    if [ "$(stat -c %s "$OUT/mmcv_build.log")" -gt $((15 * 1024 * 1024)) ]; then
        gzip -f "$OUT/mmcv_build.log"
    fi
}

phase_mmcv() {
    local prebuilt wheel arch jobs cap
    wheel_dir || return 1
    prebuilt=$(ls "$WHEELS"/mmcv-2.1.0-*.whl 2>/dev/null | head -1 || true)
    if [ -n "$prebuilt" ]; then
        echo "mmcv from $prebuilt (installed with the other wheels)"
    else
        [ -f "$WHEELS/mmcv-2.1.0.tar.gz" ] || { echo "no mmcv-2.1.0.tar.gz in $WHEELS"; return 1; }
        rm -rf "$WORK/mmcv" && mkdir -p "$WORK/mmcv"
        tar xzf "$WHEELS/mmcv-2.1.0.tar.gz" -C "$WORK/mmcv" || return 1
        patch_mmcv "$WORK/mmcv/mmcv-2.1.0" || return 1
        arch=${TORCH_CUDA_ARCH_LIST:-$("$PY" -c \
            'import torch; print("%d.%d" % torch.cuda.get_device_capability(0))')}
        jobs=${MAX_JOBS:-$(nproc)}
        cap=$(( $(remaining) - TRAIN_RESERVE - 150 ))  # leave time for what follows
        [ "$cap" -gt 60 ] || { echo "no time left to compile mmcv"; return 1; }
        echo "compiling mmcv 2.1.0 for arch $arch with $jobs jobs (at most ${cap}s), log: mmcv_build.log"
        (cd "$WORK/mmcv/mmcv-2.1.0" && MMCV_WITH_OPS=1 FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST=$arch \
            MAX_JOBS=$jobs CFLAGS="${CFLAGS:-} -g0" MMCV_CUDA_ARGS=-D__NV_NO_VECTOR_DEPRECATION_DIAG \
            timeout "$cap" "$PY" -m pip wheel -v --no-build-isolation --no-deps -w "$WORK/dist" . \
            >"$OUT/mmcv_build.log" 2>&1) || {
            echo "mmcv build failed (exit $?); first errors, then the end of mmcv_build.log:"
            grep -n -m 20 -E "error:|FAILED:|Error [0-9]" "$OUT/mmcv_build.log" | cut -c1-300 || true
            tail -n 30 "$OUT/mmcv_build.log" | cut -c1-300
            shrink_build_log; return 1; }
        shrink_build_log
        wheel=$(ls "$WORK"/dist/mmcv-2.1.0-*.whl | head -1)
        echo "built $(basename "$wheel") ($(du -h "$wheel" | cut -f1))"
        "$PY" -m pip install -q --no-deps --no-compile --upgrade --target "$TARGET" "$wheel" || return 1
        if [ "$(stat -c %s "$wheel")" -le $((15 * 1024 * 1024)) ]; then
            cp "$wheel" "$OUT/"
        elif [ "$(stat -c %s "$wheel")" -le $((45 * 1024 * 1024)) ]; then
            split -b 15M -d "$wheel" "$OUT/$(basename "$wheel").part"
            echo "wheel kept in parts: cat $(basename "$wheel").part* > $(basename "$wheel")"
        fi
    fi
    # (mmcv.ops.get_compiler_version() segfaulted on the H100 machine, torch 2.11 + CUDA 13,
    # while the ops themselves import and run: the ops phase checks them.)
    "$PY" -c 'import mmcv, mmcv.ops; print(f"mmcv {mmcv.__version__} with its ops")'
}

phase_ops() {
    "$PY" - <<'EOF'
import distutils.errors  # noqa: F401  (mmengine's Runner imports it: setuptools' shim on 3.12)
import mmdet, mmengine, mmpretrain, torch, torchvision
import mmkd  # noqa: F401
from mmcv.ops import RoIAlign, nms

print(f'mmengine {mmengine.__version__}, mmdet {mmdet.__version__}, '
      f'mmpretrain {mmpretrain.__version__}, mmkd imported')

torch.manual_seed(0)
xy = torch.rand(2000, 2, device='cuda') * 200
boxes = torch.cat([xy, xy + torch.rand(2000, 2, device='cuda') * 60 + 1], 1)
scores = torch.rand(2000, device='cuda')
_, keep = nms(boxes, scores, 0.5)
expected = torchvision.ops.nms(boxes, scores, 0.5)
# an IoU within rounding of the threshold may go either way: allow a box or two in 1000
differ = len(set(keep.tolist()) ^ set(expected.tolist()))
assert differ <= max(2, len(expected) // 500), f'mmcv CUDA nms: {differ} boxes differ'
print(f'nms: {len(keep)} of 2000 boxes kept, {differ} different from torchvision')

features = torch.randn(2, 8, 64, 64, device='cuda', requires_grad=True)
rois = torch.cat([torch.randint(0, 2, (300, 1), device='cuda').float(), boxes[:300]], 1)
ours = RoIAlign((7, 7), 0.25, sampling_ratio=2, aligned=True)(features, rois)
grad_ours, = torch.autograd.grad(ours.sum(), features)
theirs = torchvision.ops.roi_align(features, rois, (7, 7), 0.25, sampling_ratio=2, aligned=True)
grad_theirs, = torch.autograd.grad(theirs.sum(), features)
forward_diff = (ours - theirs).abs().max().item()
backward_diff = (grad_ours - grad_theirs).abs().max().item()
assert forward_diff < 1e-4 and backward_diff < 1e-3, (forward_diff, backward_diff)
print(f'RoIAlign: max difference to torchvision {forward_diff:.1e} (forward), '
      f'{backward_diff:.1e} (backward)')
EOF
}

# bench_flags PRECISION: the tools/benchmark.py flags of one precision of BENCH_PRECISIONS
bench_flags() {
    case $1 in
        fp32) echo "" ;;
        amp) echo "--amp" ;;
        amp_teacher-fp16) echo "--amp --teacher-precision fp16" ;;
        fp32_teacher-fp16) echo "--teacher-precision fp16" ;;
        *) return 1 ;;
    esac
}

# run_bench CPUS THREADS; run_tests CPUS WORKERS: each writes its seconds and exit status
run_bench() {
    local start rc=0 precision flags pin=() threads=()
    start=$(date +%s)
    [ -n "$1" ] && pin=(taskset -c "$1")
    [ -n "$2" ] && threads=(--threads "$2")
    : >"$WORK/benchmark.log"
    for precision in $BENCH_PRECISIONS; do
        flags=$(bench_flags "$precision") || { echo "unknown precision $precision" \
            >>"$WORK/benchmark.log"; rc=2; continue; }
        if [ "$(until_budget $((TRAIN_RESERVE + 20)))" -le 1 ]; then
            echo "=== $precision: no time left (budget)" >>"$WORK/benchmark.log"; rc=124; break
        fi
        echo "=== $precision" >>"$WORK/benchmark.log"
        # shellcheck disable=SC2086  # BENCH_ARGS and flags are lists of arguments
        timeout "$(until_budget $((TRAIN_RESERVE + 20)))" "${pin[@]}" "$PY" tools/benchmark.py \
            $BENCH_ARGS $flags --device "$DEVICE" "${threads[@]}" \
            --out "$OUT/bench_$precision.json" >>"$WORK/benchmark.log" 2>&1 || rc=$?
    done
    echo "$(( $(date +%s) - start )) $rc" >"$WORK/bench.result"
}

run_tests() {
    local start rc=0 pin=() args=(-x -q -p no:cacheprovider --durations=15)
    start=$(date +%s)
    [ -n "$1" ] && pin=(taskset -c "$1")
    if [ -n "$2" ] && "$PY" -c 'import xdist' 2>/dev/null; then args+=(-n "$2"); fi
    if "$PY" -c 'import pytest_timeout' 2>/dev/null; then args+=(--timeout 300); fi
    # shellcheck disable=SC2086  # TEST_ARGS is a list of arguments
    ( [ "${TEST_GPU:-0}" = 1 ] || export CUDA_VISIBLE_DEVICES=
      export OMP_NUM_THREADS=${TEST_THREADS:-2}
      timeout "$(until_budget $((TRAIN_RESERVE + 20)))" "${pin[@]}" "$PY" -m pytest tests \
          "${args[@]}" ${TEST_ARGS:-} >"$OUT/pytest.log" 2>&1 ) || rc=$?
    echo "$(( $(date +%s) - start )) $rc" >"$WORK/tests.result"
}

phase_train() {
    # shellcheck disable=SC2086  # TRAIN_ARGS is a list of arguments
    timeout "$(until_budget 10)" "$PY" tools/benchmark.py $TRAIN_ARGS --device "$DEVICE" \
        --out "$OUT/train.json"
}

wanted() { [[ " $PHASES_WANTED " == *" $1 "* ]]; }

main() {
    rm -rf "$WORK" && mkdir -p "$WORK"
    echo "gpu_check: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?') in $ROOT," \
        "wheels $WHEEL_ARG, budget ${BUDGET}s, $(nproc) cores, phases: $PHASES_WANTED," \
        "device $DEVICE"
    local name start ok=1
    for name in env install mmcv ops; do
        wanted "$name" || continue
        stamp "$name"
        start=$(date +%s)
        if "phase_$name"; then
            record "$name" $(($(date +%s) - start)) ok
        else
            record "$name" $(($(date +%s) - start)) FAILED
            ok=0
            # nothing after a failed install or mmcv build can import mmdet
            [ "$name" = ops ] || break
        fi
    done

    if [ "$ok" = 1 ] || [ "${STATUS[ops]:-}" = FAILED ]; then
        local cores bench_cpus='' bench_threads='' test_cpus='' workers='' pids=()
        cores=$(nproc)
        if wanted bench && wanted tests && [ "$cores" -ge 8 ] && [ "${SERIAL:-0}" != 1 ] \
                && command -v taskset >/dev/null; then
            bench_cpus=0-3 bench_threads=4 test_cpus=4-$((cores - 1)) workers=$(((cores - 4) / 2))
            stamp "bench (cores $bench_cpus) and tests (cores $test_cpus, $workers workers) side by side"
            run_bench "$bench_cpus" "$bench_threads" &
            pids+=($!)
            run_tests "$test_cpus" "$workers" &
            pids+=($!)
            wait "${pids[@]}" || true
        else
            if wanted bench; then stamp bench; run_bench '' ''; fi
            if wanted tests; then
                stamp tests
                run_tests '' "$([ "$cores" -ge 4 ] && echo $((cores / 2)) || true)"
            fi
        fi
        local which secs rc
        for which in bench tests; do
            wanted "$which" || continue
            read -r secs rc <"$WORK/$which.result" || { secs='?' rc='no result'; }
            case $rc in
                0) record "$which" "$secs" ok ;;
                124) record "$which" "$secs" "TIMED OUT (budget)" ;;
                *) record "$which" "$secs" "FAILED (exit $rc)" ;;
            esac
        done
        if wanted bench; then
            stamp "benchmark output"
            cat "$WORK/benchmark.log" || true
        fi
        if wanted tests; then
            stamp "pytest (end of pytest.log)"
            tail -n 40 "$OUT/pytest.log" || true
        fi
        if wanted train; then
            stamp train
            start=$(date +%s)
            local train_rc=0
            phase_train || train_rc=$?
            case $train_rc in
                0) record train $(($(date +%s) - start)) ok ;;
                124) record train $(($(date +%s) - start)) "TIMED OUT (budget)" ;;
                *) record train $(($(date +%s) - start)) "FAILED (exit $train_rc)" ;;
            esac
        fi
    fi

    stamp "summary"
    [ "$DEVICE" = cpu ] || nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
    printf '%-8s %7s  %s\n' phase seconds status
    local failed=0
    for name in "${PHASES[@]}"; do
        printf '%-8s %7s  %s\n' "$name" "${SECS[$name]}" "${STATUS[$name]}"
        [ "${STATUS[$name]}" = ok ] || failed=1
    done
    echo "total $(($(date +%s) - STARTED))s; files in $OUT: $(cd "$OUT" && ls | tr '\n' ' ')"
    return $failed
}

main 2>&1 | tee "$OUT/gpu_check.log"
