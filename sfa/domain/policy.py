"""The sales policy: the stages in order with probability, forecast category, stall days and key
fields; whether the stage rules are strict; the discounts above which a quote needs approval.

A policy is a synced record (entities.POLICY, one per team or company-wide); this module holds its
pure rules: the stored form of the stage list, the TOML form people edit, and the ids that make two
laptops creating the same thing offline create one record (docs/policy.md).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sfa.domain.errors import ValidationError
from sfa.domain.money import HUNDRED, RATE_PLACES, check_bounds, parse_amount
from sfa.domain.stages import LOST, WON, Stage

CATEGORIES = ("pipeline", "best case", "commit", "closed", "omitted")
DEFAULT_STALL_DAYS = 21
MAX_STALL_DAYS = 3650
# Fields of an opportunity a stage may expect to be filled in.
KEY_FIELDS = ("amount", "currency", "close_date", "contact_id", "next_step", "lost_reason", "notes")


def default_category(stage: Stage) -> str:
    if stage.name == WON:
        return "closed"
    if stage.name == LOST:
        return "omitted"
    if stage.probability >= 90:
        return "commit"
    if stage.probability >= 60:
        return "best case"
    return "pipeline"


@dataclass(frozen=True)
class PolicyStage:
    name: str
    probability: int
    category: str
    stall_days: int = DEFAULT_STALL_DAYS
    key_fields: tuple[str, ...] = ()

    @property
    def stage(self) -> Stage:
        return Stage(self.name, self.probability)


@dataclass(frozen=True)
class SalesPolicy:
    stages: tuple[PolicyStage, ...]
    strict: bool = False
    line_discount_limit: Decimal | None = None
    quote_discount_limit: Decimal | None = None
    # Where it comes from: "team NAME", "company", or "local" (the laptop's config, no record).
    source: str = "local"
    record_id: str | None = None
    problems: tuple[str, ...] = field(default=(), compare=False)

    @property
    def plain_stages(self) -> tuple[Stage, ...]:
        return tuple(s.stage for s in self.stages)

    def stage(self, name: str) -> PolicyStage | None:
        for stage in self.stages:
            if stage.name == name:
                return stage
        return None


def from_local(stages: tuple[Stage, ...]) -> SalesPolicy:
    """The policy a laptop without a synced one has: its configured stages, default categories."""
    return SalesPolicy(tuple(PolicyStage(s.name, s.probability, default_category(s)) for s in stages))


# -- the stored form of the stage list: compact JSON, one line ----------------------------------


def dump_stages(stages: tuple[PolicyStage, ...]) -> str:
    return json.dumps(
        [
            {
                "name": s.name,
                "probability": s.probability,
                "category": s.category,
                "stall_days": s.stall_days,
                "key_fields": list(s.key_fields),
            }
            for s in stages
        ],
        separators=(",", ":"),
        ensure_ascii=False,
    )


def load_stages(text: str) -> tuple[PolicyStage, ...]:
    """The stage list of a stored policy; ValidationError("stages", ...) if it is not one."""
    try:
        items = json.loads(text)
    except (ValueError, TypeError):
        raise ValidationError("stages", "the stored stage list is not readable") from None
    if not isinstance(items, list):
        raise ValidationError("stages", "the stored stage list is not a list")
    return check_stages([_stage(item, n) for n, item in enumerate(items, 1)])


def _stage(item: Any, number: int) -> PolicyStage:
    where = f"stages[{number}]"
    if not isinstance(item, dict):
        raise ValidationError(where, "each stage is a table with a name and a probability")
    unknown = set(item) - {"name", "probability", "category", "stall_days", "key_fields"}
    if unknown:
        raise ValidationError(f"{where}.{sorted(unknown)[0]}", "is not a stage setting")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(f"{where}.name", "is required")
    name = " ".join(name.strip().lower().replace("-", " ").replace("_", " ").split())
    if len(name) > 60 or any(c in name for c in ",:\n\t"):
        raise ValidationError(f"{where}.name", f"{name[:60]!r} is not a stage name (no , : or tabs)")
    probability = item.get("probability")
    if not isinstance(probability, int) or isinstance(probability, bool) or not 0 <= probability <= 100:
        raise ValidationError(f"{where}.probability", "must be a whole percentage 0..100")
    plain = Stage(name, probability)
    category = item.get("category", default_category(plain))
    if category not in CATEGORIES:
        raise ValidationError(f"{where}.category", f"{category!r}; use one of {', '.join(CATEGORIES)}")
    stall = item.get("stall_days", DEFAULT_STALL_DAYS)
    if not isinstance(stall, int) or isinstance(stall, bool) or not 1 <= stall <= MAX_STALL_DAYS:
        raise ValidationError(f"{where}.stall_days", f"must be a whole number of days 1..{MAX_STALL_DAYS}")
    keys = item.get("key_fields", [])
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ValidationError(f"{where}.key_fields", "must be a list of field names")
    for key in keys:
        if key not in KEY_FIELDS:
            raise ValidationError(f"{where}.key_fields", f"{key!r}; use any of {', '.join(KEY_FIELDS)}")
    return PolicyStage(name, probability, str(category), stall, tuple(dict.fromkeys(keys)))


def check_stages(stages: list[PolicyStage]) -> tuple[PolicyStage, ...]:
    names = [s.name for s in stages]
    if WON not in names or LOST not in names:
        raise ValidationError("stages", "the list must contain 'won' and 'lost'")
    if len(set(names)) != len(names):
        raise ValidationError("stages", "stage names must be unique")
    return tuple(stages)


def parse_percent(value: Any, name: str) -> Decimal | None:
    """A discount threshold in percent (0..100), from TOML (a number or text) or typed text."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValidationError(name, "must be a percentage 0..100")
    if isinstance(value, int | float):
        value = str(value)
    if isinstance(value, Decimal):
        return check_bounds(name, value, limit=HUNDRED, places=RATE_PLACES, noun="percentage")
    if not isinstance(value, str):
        raise ValidationError(name, "must be a percentage 0..100")
    return parse_amount(value.rstrip("% "), name, limit=HUNDRED, places=RATE_PLACES, noun="percentage")


# -- the TOML form people edit -------------------------------------------------------------------


def to_toml(policy: SalesPolicy) -> str:
    lines = [
        "# The sales policy (docs/policy.md). Stages in order; won and lost are required.",
        f"# category: one of {', '.join(CATEGORIES)}; key_fields: any of {', '.join(KEY_FIELDS)}",
        f"strict = {'true' if policy.strict else 'false'}",
    ]
    for key in ("line_discount_limit", "quote_discount_limit"):
        value = getattr(policy, key)
        lines.append(f'{key} = "{value}"' if value is not None else f'# {key} = "15"')
    for stage in policy.stages:
        keys = ", ".join(json.dumps(k) for k in stage.key_fields)
        lines += [
            "",
            "[[stages]]",
            f"name = {json.dumps(stage.name, ensure_ascii=False)}",
            f"probability = {stage.probability}",
            f"category = {json.dumps(stage.category)}",
            f"stall_days = {stage.stall_days}",
            f"key_fields = [{keys}]",
        ]
    return "\n".join(lines) + "\n"


def from_toml(text: str) -> dict[str, Any]:
    """The policy's field values (as the POLICY record holds them) from its TOML form."""
    import tomllib  # only here: a plain write does not pay for the parser

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError("policy", f"not valid TOML: {exc}") from None
    unknown = set(data) - {"strict", "line_discount_limit", "quote_discount_limit", "stages"}
    if unknown:
        raise ValidationError(sorted(unknown)[0], "is not a policy setting")
    raw = data.get("stages")
    if not isinstance(raw, list) or not raw:
        raise ValidationError("stages", "give the stages as [[stages]] tables")
    stages = check_stages([_stage(item, n) for n, item in enumerate(raw, 1)])
    strict = data.get("strict", False)
    if not isinstance(strict, bool):
        raise ValidationError("strict", "must be true or false")
    return {
        "stages": dump_stages(stages),
        "strict": strict,
        "line_discount_limit": parse_percent(data.get("line_discount_limit"), "line_discount_limit"),
        "quote_discount_limit": parse_percent(data.get("quote_discount_limit"), "quote_discount_limit"),
    }


def from_record(record: dict[str, Any], source: str) -> SalesPolicy:
    return SalesPolicy(
        load_stages(record["stages"]),
        bool(record.get("strict")),
        record.get("line_discount_limit"),
        record.get("quote_discount_limit"),
        source,
        record["id"],
    )


# -- ids two laptops agree on --------------------------------------------------------------------


def stable_id(*parts: str) -> str:
    """A record id derived from `parts` (a UUID of version 8, RFC 9562): the same parts give the
    same id on every laptop, so two offline creations of one thing meet as one record on the
    server. The handle (the id's tail) is hash bits like a random id's."""
    digest = hashlib.sha256("\x1f".join(("sfa", *parts)).encode()).hexdigest()
    variant = "89ab"[int(digest[16], 16) & 3]
    return f"{digest[:8]}-{digest[8:12]}-8{digest[13:16]}-{variant}{digest[17:20]}-{digest[20:32]}"


def policy_id(team: str | None) -> str:
    return stable_id("policy", "sales", team or "")
