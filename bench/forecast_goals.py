"""Issue 16's accuracy goals on the simulated histories of seeds 1-5 (as `sfa demo --history 24m
--seed N` stores them), 8 quarters, today = 2026-11-29 — the figures behind tests/test_prediction.py:

    python bench/forecast_goals.py

Per seed: deals, weighted and best-method WMAPE and their ratio, periods inside P10-P90, Brier of
history and model (and whether the model fell back), AUC, and the largest gap between a recovered
P(won | reached stage) and the truth (stages with >= 100 closed deals).
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sfa.domain import prediction as P
from sfa.domain.stages import DEFAULT_STAGES

TODAY = date(2026, 11, 29)
SEEDS = (1, 2, 3, 4, 5)


def main() -> None:
    truth = P.simulation_truth(DEFAULT_STAGES).reach
    inside = cases = 0
    print(
        "seed deals best weighted_wmape best_wmape ratio inside brier_history brier_model auc_history model_note max_gap"
    )
    for seed in SEEDS:
        start, span = P.history_window(TODAY, 24)
        deals = P.simulate(DEFAULT_STAGES, start, span, seed=seed, until=TODAY)
        result = P.backtest(deals, DEFAULT_STAGES, TODAY, periods=8)
        best, weighted = result.scores[result.best], result.scores["weighted"]
        hits = sum(
            1
            for _, _, actual, lo, hi in best.periods
            if lo is not None and hi is not None and lo <= actual <= hi
        )
        inside += hits
        cases += len(best.periods)
        closed = [d for d in deals if d.outcome is not None]
        gaps = [
            abs(won / n - truth[stage])
            for stage, (won, n) in P.reach_probabilities(closed, DEFAULT_STAGES).items()
            if n >= 100
        ]
        model, history = result.scores["model"], result.scores["history"]
        print(
            f"{seed} {len(deals)} {result.best} {weighted.wmape:.3f} {best.wmape:.3f} "
            f"{(best.wmape or 0) / (weighted.wmape or 1):.2f} {hits}/{len(best.periods)} "
            f"{history.brier:.4f} {model.brier:.4f} {history.auc:.3f} "
            f"{'fell back ' + model.note.split('(')[-1].rstrip(')') if model.note else 'used'} {max(gaps) * 100:.1f}pt"
        )
    print(f"pooled P10-P90 coverage: {inside}/{cases} = {inside / cases:.0%} (goal 70-90 %)")


if __name__ == "__main__":
    main()
