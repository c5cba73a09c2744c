"""A demo stage: one ``tools/train.py`` run in a subprocess, its console reduced to
progress lines, its record cached in its work dir so a rerun with the same settings
reuses it."""
import fcntl
import hashlib
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from typing import List, Optional

from mmengine.config import Config

from . import ROOT
from .logs import progress_line, read_run
from .report import duration

TRAIN = osp.join(ROOT, 'tools', 'train.py')


def shown_path(path: str) -> str:
    """``path`` relative to the repository root when it is inside it."""
    relative = osp.relpath(path, ROOT)
    return path if relative.startswith('..') else relative


def config_digest(config: str) -> str:
    """A digest of the resolved config (its bases included)."""
    text = json.dumps(Config.fromfile(config).to_dict(), sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


class Stage:
    """One tools/train.py run: config, work dir, ``--cfg-options``, a label to show and
    its number of iterations."""

    def __init__(self, name: str, config: str, work_dir: str, options: List[str],
                 label: str, iters: int):
        self.name, self.config, self.work_dir = name, config, work_dir
        self.options, self.label, self.iters = options, label, iters
        self.depends_on: Optional[str] = None  # the teacher run a distilled student learns from
        self.backbone: Optional[dict] = None  # the pretraining the backbone starts from

    @property
    def command(self) -> List[str]:
        cmd = [sys.executable, TRAIN, self.config, '--work-dir', self.work_dir]
        return cmd + (['--cfg-options', *self.options] if self.options else [])

    def key(self) -> dict:
        """What a finished run must match to be reused."""
        key = dict(config=shown_path(self.config), digest=config_digest(self.config),
                   options=self.options, teacher=self.depends_on)
        if self.backbone:
            key['backbone'] = self.backbone
        return key


def fresh_dir(path: str) -> None:
    """An empty folder at ``path`` (what a previous run left there is removed)."""
    if osp.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)


def run_logged(command: List[str], work_dir: str, env: dict, verbose: bool, what: str) -> None:
    """Run ``command``, logging everything to ``work_dir/train.log`` and showing the
    progress lines (everything with ``verbose``).

    Raises:
        SystemExit: the command failed; the log's last lines are shown and named.
    """
    log_path = osp.join(work_dir, 'train.log')
    with open(log_path, 'w') as log:
        log.write(' '.join(command) + '\n')
        log.flush()
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, bufsize=1)
        for line in proc.stdout:
            log.write(line)
            shown = line.rstrip() if verbose else progress_line(line)
            if shown:
                print(shown, flush=True)
        code = proc.wait()
    if code != 0:
        with open(log_path) as f:
            tail = f.readlines()[-25:]
        sys.stderr.write(''.join(tail))
        raise SystemExit(f'{what} failed (exit code {code}); full log: {log_path}\n'
                         f'The command was: {" ".join(command)}')


def train(stage: Stage, env: dict, verbose: bool) -> None:
    """Run the stage's tools/train.py command in its (emptied) work dir."""
    fresh_dir(stage.work_dir)
    run_logged(stage.command, stage.work_dir, env, verbose, f'Stage "{stage.label}"')


@contextmanager
def stage_lock(work_dir: str):
    """Hold ``<work_dir>.lock`` while a stage is checked and trained: a second demo on the
    same work dir would otherwise empty the folder under the first one's run. The lock
    goes with the process (``flock``), so a killed demo leaves none behind.

    Raises:
        SystemExit: another process holds the stage.
    """
    os.makedirs(osp.dirname(work_dir), exist_ok=True)
    with open(work_dir + '.lock', 'w') as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(f'Another process is training the stage in {work_dir}: run one '
                             'demo per work dir at a time (or give this one --work-dir).')
        yield


def run_stage(stage: Stage, env: dict, retrain: bool, verbose: bool, index: int,
              total: int, started: float) -> dict:
    """Train (or reuse) one stage; returns its record (metrics, curves, checkpoint,
    seconds, ...) with ``reused``."""
    with stage_lock(stage.work_dir):
        return _run_stage(stage, env, retrain, verbose, index, total, started)


def _run_stage(stage: Stage, env: dict, retrain: bool, verbose: bool, index: int,
               total: int, started: float) -> dict:
    record_path = osp.join(stage.work_dir, 'demo_stage.json')
    elapsed = duration(time.perf_counter() - started)
    head = f'[{index}/{total}, {elapsed} elapsed] {stage.label}: '
    if not retrain and osp.isfile(record_path):
        with open(record_path) as f:
            record = json.load(f)
        if record.get('key') == stage.key():
            print(head + f'reusing the finished run in {stage.work_dir} '
                  f"(box AP {record['metrics']['bbox_AP']:.1f})", flush=True)
            return dict(record, reused=True)
    print(head + f'{stage.iters} iterations of python tools/train.py '
          f'{shown_path(stage.config)} (log: {stage.work_dir}/train.log)', flush=True)
    start = time.perf_counter()
    train(stage, env, verbose)
    seconds = time.perf_counter() - start
    record = dict(read_run(stage.work_dir), key=stage.key(), seconds=round(seconds, 1),
                  finished=time.strftime('%Y-%m-%d %H:%M:%S'))
    with open(record_path, 'w') as f:
        json.dump(record, f)
    metrics = record['metrics']
    print('      ' + f'done in {duration(seconds)}: box AP {metrics["bbox_AP"]:.1f}'
          + (f', mask AP {metrics["segm_AP"]:.1f}' if 'segm_AP' in metrics else ''),
          flush=True)
    return dict(record, reused=False)
