"""The demo's figures: AP per method (bars, seeds as dots, the teacher as a line) and
the students' loss curves."""
import statistics
from typing import Dict, List


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def _short(label: str) -> str:
    return label.replace('+ ', '').replace('student ', '')


def plot_ap(results: dict, path: str) -> None:
    """Bars of each method's mean AP per metric kind (box, mask), to ``path``."""
    plt = _pyplot()
    kinds = results['kinds']
    fig, axes = plt.subplots(1, len(kinds), figsize=(4.8 * len(kinds), 3.8), squeeze=False)
    methods = list(results['methods'])
    colours = ['#8c8c8c'] + [f'C{i}' for i in range(len(methods))]
    for ax, kind in zip(axes[0], kinds):
        means = [results['methods'][m][f'{kind}_AP']['mean'] for m in methods]
        stds = [results['methods'][m][f'{kind}_AP']['std'] for m in methods]
        x = range(len(methods))
        ax.bar(x, means, yerr=stds, capsize=4, color=colours[:len(methods)], alpha=0.85)
        for i, m in enumerate(methods):
            values = [v[f'{kind}_AP'] for v in results['methods'][m]['per_seed'].values()]
            ax.scatter([i] * len(values), values, color='k', s=10, zorder=3)
            ax.text(i, means[i] + stds[i] + 0.3, f'{means[i]:.1f}', ha='center', fontsize=8)
        teacher = results['teacher']['metrics'][f'{kind}_AP']
        ax.axhline(teacher, color='k', linestyle='--', linewidth=1)
        ax.text(len(methods) - 0.5, teacher, f'teacher {teacher:.1f}', ha='right',
                va='bottom', fontsize=8)
        ax.set_xticks(list(x))
        # more than six bars: slanted names, so long ones (ReviewKD) do not run together
        ax.set_xticklabels([_short(results['methods'][m]['label']) for m in methods],
                           rotation=30 if len(methods) > 6 else 0,
                           ha='right' if len(methods) > 6 else 'center')
        low = min(means) - max(stds) - 3
        ax.set_ylim(max(0, low), max(teacher, max(means)) + 3)
        ax.set_ylabel(f"{'box' if kind == 'bbox' else 'mask'} AP (val)")
        ax.set_title(f"{results['detector']} student, {len(results['seeds'])} seed(s)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_losses(results: dict, curves: Dict[str, List[dict]], path: str) -> None:
    """Detection and distillation losses of each method (mean over seeds), to ``path``;
    ``curves[method]`` lists the runs' ``curves`` records."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for i, (method, runs) in enumerate(curves.items()):
        runs = [r for r in runs if r['iter']]
        if not runs:
            continue
        length = min(len(r['iter']) for r in runs)
        iters = runs[0]['iter'][:length]
        colour = '#8c8c8c' if method == 'baseline' else f'C{i - 1}'
        label = _short(results['methods'][method]['label'])
        for ax, key in zip(axes, ('detection', 'distill')):
            if key == 'distill' and method == 'baseline':
                continue
            mean = [statistics.mean(r[key][j] for r in runs) for j in range(length)]
            if key == 'distill':  # off during a warm-up: not drawn
                mean = [v if v > 0 else float('nan') for v in mean]
            ax.plot(iters, mean, color=colour, label=label)
    axes[0].set_title('student detection losses, mean over seeds')
    axes[1].set_title('distillation loss (weighted)')
    for ax in axes:
        ax.set_xlabel('iteration')
        ax.legend(fontsize=8)
    axes[1].set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
