"""Opportunity stages: an ordered list with default probabilities; configurable per store."""

from __future__ import annotations

from dataclasses import dataclass

from sfa.domain.errors import ValidationError

WON = "won"
LOST = "lost"


@dataclass(frozen=True)
class Stage:
    name: str
    probability: int

    @property
    def is_closed(self) -> bool:
        return self.name in (WON, LOST)


DEFAULT_STAGES: tuple[Stage, ...] = (
    Stage("initiation", 10),
    Stage("identification", 20),
    Stage("qualification", 30),
    Stage("rfp received", 50),
    Stage("quotation sent", 70),
    Stage("final stage", 90),
    Stage(WON, 100),
    Stage(LOST, 0),
)


def parse_stages(text: str) -> tuple[Stage, ...]:
    """Parse the config form "initiation:10, qualification:30, ..., won:100, lost:0"."""
    stages: list[Stage] = []
    for item in text.split(","):
        if not item.strip():
            continue
        name, sep, prob = item.rpartition(":")
        if not sep or not name.strip():
            raise ValidationError("stages", f"{item.strip()!r} should be NAME:PROBABILITY")
        try:
            probability = int(prob)
        except ValueError:
            raise ValidationError("stages", f"{prob!r} is not a whole percentage") from None
        if not 0 <= probability <= 100:
            raise ValidationError("stages", f"probability {probability} is outside 0..100")
        stages.append(Stage(name.strip().lower(), probability))
    names = [s.name for s in stages]
    if WON not in names or LOST not in names:
        raise ValidationError("stages", "the list must contain 'won' and 'lost'")
    if len(set(names)) != len(names):
        raise ValidationError("stages", "stage names must be unique")
    return tuple(stages)


def format_stages(stages: tuple[Stage, ...]) -> str:
    return ", ".join(f"{s.name}:{s.probability}" for s in stages)


def find_stage(stages: tuple[Stage, ...], name: str) -> Stage:
    wanted = " ".join(name.strip().lower().replace("-", " ").replace("_", " ").split())
    for stage in stages:
        if stage.name == wanted:
            return stage
    accepted = ", ".join(s.name for s in stages)
    raise ValidationError("stage", f"{name!r} is not a stage; accepted: {accepted}")
