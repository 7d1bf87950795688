"""One champion per race: the gate's judgement of a run, taken again where it counts.

A training run is judged against the champion when it finishes (its report shows that
decision), but it registers later — seconds later, or days later when it was kept in
``pending/`` while the registry was away — and another training may have crowned a version in
between. So the decision is *applied* under :func:`registry_lock`, an inter-process lock per
registered model, and re-taken there (:func:`judge`) whenever the champion is no longer the one
the run was judged against. Two concurrent pipelines in a fresh home: the first to register is
crowned as the first champion; the second is compared with it.

The lock is a kernel-released ``flock`` under ``CRYPTOVOL_HOME`` (``cryptovol.files.store_lock``):
it serializes every command of the home, whatever the tracking URI. Trainings of one model
from several machines against one MLflow server need a shared home for the lock (see
docs/guides/registry.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pandas as pd

from cryptovol.files import store_lock
from cryptovol.settings import Settings
from training.champion import ChampionModel, live_forecasts
from training.client import configure
from training.gate import GateDecision, GateInputs, decide, gate_inputs
from training.registry_reads import champion_oof, champion_version

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GateContext:
    """What the gate needs to judge a run again, against whichever champion there is then."""

    holdout: pd.DataFrame  # latest test block: symbol, event_timestamp, target_rv, forecasts
    family: str  # the registered family's forecast column
    baseline: str  # the best baseline's forecast column
    margin: float
    leakage_suspected: bool = False
    notes: list[str] = field(default_factory=list)  # reasons the comparison does not produce
    judged_against: str | None = None  # the champion version of the first judgement


@dataclass(frozen=True)
class Judgement:
    decision: GateDecision
    inputs: GateInputs
    champion: str | None  # the version judged against


@contextmanager
def registry_lock(settings: Settings) -> Iterator[None]:
    """Hold the lock of ``settings.registered_model``'s aliases for the block."""
    with store_lock(settings.home / "registry" / settings.registered_model):
        yield


def judge(settings: Settings, context: GateContext, frame: pd.DataFrame | None) -> Judgement:
    """The gate's decision against the current champion: its own out-of-fold forecasts, and its
    forecasts of ``frame``'s bars after its training data (out of sample by construction)."""
    client = configure(settings)
    name = settings.registered_model
    current = champion_version(client, name)
    theirs = champion_oof(client, name)
    if theirs is not None and frame is not None:
        live = live_forecasts(ChampionModel.load(settings, str(current.version)), frame)
        theirs = theirs if live is None else pd.concat([theirs, live[~live.index.isin(theirs.index)]])
    inputs = gate_inputs(context.holdout, context.family, context.baseline, theirs)
    decision = decide(inputs.challenger_qlike, inputs.best_baseline_qlike, inputs.champion_qlike,
                      context.margin, context.leakage_suspected, has_champion=current is not None)
    return Judgement(GateDecision(decision.promote, [*decision.reasons, *context.notes]), inputs,
                     str(current.version) if current else None)
