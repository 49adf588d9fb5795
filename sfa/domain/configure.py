"""The product configurator: options, rules, and the one pure function that checks and prices a choice.

A configurable product has options: (attribute, value) pairs with a price extra and a SKU suffix.
An attribute is required when any of its options says so, takes several values when any says so,
and is preselected by its default options. Rules say: when ATTR=VALUE[, ...] all hold, ATTR=VALUE is
required (or excluded). ``configure`` turns a choice into a SKU, a description, a unit price (base
plus extras, exact Decimal) and a list of errors, each naming the allowed values. See
docs/products.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sfa.domain.errors import ValidationError

ACTIONS = ("require", "exclude")
# Characters the canonical text uses to separate things: never part of an attribute or a value.
RESERVED = (",", "=", "|", ";")

Pair = tuple[str, str]


@dataclass(frozen=True)
class Option:
    attribute: str
    value: str
    extra: Decimal = Decimal(0)
    sku_suffix: str = ""
    default: bool = False
    required: bool = False
    multiple: bool = False
    position: int = 0


@dataclass(frozen=True)
class Rule:
    when: tuple[Pair, ...]
    action: str  # "require" or "exclude"
    target: Pair
    message: str = ""
    number: int = 0  # shown as "rule N"; its position among the product's rules

    def describe(self) -> str:
        verb = "requires" if self.action == "require" else "excludes"
        return f"{pairs_text(self.when)} {verb} {self.target[0]}={self.target[1]}"


@dataclass(frozen=True)
class Problem:
    attribute: str  # the attribute the error is about (the field named in the message)
    message: str
    rule: Rule | None = None

    def __str__(self) -> str:
        return f"{self.attribute}: {self.message}"


@dataclass(frozen=True)
class Configuration:
    sku: str
    description: str
    unit_price: Decimal
    text: str  # canonical: "Attr=Value, Attr2=V1|V2" in attribute order
    chosen: tuple[tuple[str, tuple[str, ...]], ...]  # attribute -> values, canonical order
    errors: tuple[Problem, ...] = ()
    allowed: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def broken_rules(self) -> tuple[Rule, ...]:
        return tuple(p.rule for p in self.errors if p.rule is not None)


def key(text: str) -> str:
    return " ".join(text.split()).casefold()


def pairs_text(pairs: Iterable[Pair]) -> str:
    return ", ".join(f"{a}={v}" for a, v in pairs)


def check_name(what: str, text: str) -> str:
    """An attribute or value as typed, spaces folded; the reserved separators refused."""
    clean = " ".join(text.split())
    if not clean:
        raise ValidationError(what, "is required and cannot be empty")
    bad = [c for c in RESERVED if c in clean]
    if bad:
        raise ValidationError(what, f"{clean!r} may not contain {bad[0]!r} (used in the configuration text)")
    return clean


def parse_pairs(what: str, texts: Iterable[str]) -> list[Pair]:
    """ "A=V" items (each may hold several, comma-separated) into pairs."""
    pairs: list[Pair] = []
    for text in texts:
        for part in text.split(","):
            if not part.strip():
                continue
            attribute, sep, value = part.partition("=")
            if not sep:
                raise ValidationError(what, f"{part.strip()!r} is not ATTRIBUTE=VALUE")
            pairs.append((check_name(what, attribute), check_name(what, value)))
    return pairs


class _Catalogue:
    """The options grouped by attribute, in display order, found by folded name."""

    def __init__(self, options: Sequence[Option]) -> None:
        ordered = sorted(options, key=lambda o: o.position)  # stable: ties keep their order
        self.attributes: dict[str, str] = {}  # key -> spelling
        self.values: dict[str, dict[str, Option]] = {}  # attribute key -> value key -> option
        for option in ordered:
            a = key(option.attribute)
            self.attributes.setdefault(a, option.attribute)
            self.values.setdefault(a, {}).setdefault(key(option.value), option)
        self.order = {a: n for n, a in enumerate(self.attributes)}

    def required(self, a: str) -> bool:
        return any(o.required for o in self.values[a].values())

    def multiple(self, a: str) -> bool:
        return any(o.multiple for o in self.values[a].values())

    def names(self, a: str) -> list[str]:
        return [o.value for o in self.values[a].values()]


def _holds(rule: Rule, selected: dict[str, set[str]]) -> bool:
    return all(key(v) in selected.get(key(a), set()) for a, v in rule.when)


def _broken(rule: Rule, selected: dict[str, set[str]]) -> bool:
    if not _holds(rule, selected):
        return False
    present = key(rule.target[1]) in selected.get(key(rule.target[0]), set())
    return present if rule.action == "exclude" else not present


def satisfies(rule: Rule, chosen: Iterable[Pair]) -> bool:
    """Whether a choice keeps a rule (used by the tests as the independent definition)."""
    selected: dict[str, set[str]] = {}
    for a, v in chosen:
        selected.setdefault(key(a), set()).add(key(v))
    return not _broken(rule, selected)


def _allowed(
    cat: _Catalogue, rules: Sequence[Rule], selected: dict[str, set[str]], a: str
) -> tuple[str, ...]:
    """Values of attribute `a` that, chosen alone with the rest as it is, break no rule touching `a`."""
    touching = [r for r in rules if key(r.target[0]) == a or any(key(x) == a for x, _ in r.when)]
    allowed = []
    for value_key, option in cat.values[a].items():
        trial = {**selected, a: {value_key}}
        if not any(_broken(r, trial) for r in touching):
            allowed.append(option.value)
    return tuple(allowed)


def configure(
    sku: str,
    name: str,
    base_price: Decimal,
    options: Sequence[Option],
    rules: Sequence[Rule],
    chosen: Sequence[Pair],
) -> Configuration:
    """Check and price a choice of options. Pure: the same inputs give the same result whatever
    the order of `chosen` (its pairs are put in canonical order before anything is added)."""
    cat = _Catalogue(options)
    errors: list[Problem] = []
    selected: dict[str, set[str]] = {}
    explicit: set[str] = set()
    for attribute, value in chosen:
        a = key(attribute)
        if a not in cat.values:
            names = ", ".join(cat.attributes.values()) or "none (the product has no options)"
            errors.append(Problem(attribute.strip(), f"no such attribute; allowed: {names}"))
            continue
        v = key(value)
        if v not in cat.values[a]:
            errors.append(
                Problem(cat.attributes[a], f"no value {value.strip()!r}; allowed: {', '.join(cat.names(a))}")
            )
            continue
        explicit.add(a)
        selected.setdefault(a, set()).add(v)
    for a in cat.attributes:
        if a not in explicit:
            defaults = {vk for vk, o in cat.values[a].items() if o.default}
            if defaults:
                selected[a] = defaults if cat.multiple(a) else {min(defaults, key=_position(cat, a))}
    for a, values in sorted(selected.items(), key=lambda item: cat.order[item[0]]):
        if len(values) > 1 and not cat.multiple(a):
            shown = " and ".join(sorted((cat.values[a][v].value for v in values), key=key))
            errors.append(
                Problem(
                    cat.attributes[a], f"takes one value, got {shown}; allowed: {', '.join(cat.names(a))}"
                )
            )
    for a in cat.attributes:
        if cat.required(a) and not selected.get(a):
            errors.append(Problem(cat.attributes[a], f"is required; choose one of {', '.join(cat.names(a))}"))
    for rule in sorted(rules, key=lambda r: r.number):
        if _broken(rule, selected):
            target = key(rule.target[0])
            spelled = cat.attributes.get(target, rule.target[0])
            allowed = _allowed(cat, rules, selected, target) if target in cat.values else ()
            reason = rule.message or rule.describe()
            hint = f"; allowed {spelled}: {', '.join(allowed)}" if allowed else ""
            errors.append(Problem(spelled, f"rule {rule.number}: {reason} ({rule.describe()}){hint}", rule))
    # Canonical order: attributes by their first option's position, values by theirs.
    canonical: list[tuple[str, tuple[str, ...]]] = []
    price = base_price
    suffixes = []
    for a in cat.attributes:
        if not selected.get(a):
            continue
        picked = sorted(selected[a], key=_position(cat, a))
        canonical.append((cat.attributes[a], tuple(cat.values[a][v].value for v in picked)))
        for v in picked:
            option = cat.values[a][v]
            price += option.extra
            if option.sku_suffix:
                suffixes.append(option.sku_suffix)
    text = ", ".join(f"{a}={'|'.join(vs)}" for a, vs in canonical)
    allowed_by = {cat.attributes[a]: _allowed(cat, rules, selected, a) for a in cat.attributes}
    return Configuration(
        sku="-".join([sku, *suffixes]),
        description=f"{name} ({text})" if text else name,
        unit_price=price,
        text=text,
        chosen=tuple(canonical),
        errors=tuple(errors),
        allowed=allowed_by,
    )


def _position(cat: _Catalogue, a: str) -> Callable[[str], int]:
    order = list(cat.values[a])
    return order.index


@dataclass(frozen=True)
class ValueState:
    """One value of an attribute as the configurator dialog shows it (sfa/tui/configurator.py)."""

    value: str
    extra: Decimal
    chosen: bool
    excluded: str | None  # the reason an exclude rule forbids choosing it now, else None
    needs: str | None  # the reason a require rule would then complain (choosable: fix the other)


def value_states(
    options: Sequence[Option], rules: Sequence[Rule], config: Configuration
) -> dict[str, tuple[bool, bool, list[ValueState]]]:
    """Per attribute (display order): (required, multiple, its values) for the configuration
    `config` (configure()'s result). A value is excluded when choosing it, the rest as chosen,
    breaks an exclude rule; its reason is the rule's message (or the rule) and its number."""
    cat = _Catalogue(options)
    selected: dict[str, set[str]] = {key(a): {key(v) for v in vs} for a, vs in config.chosen}
    states: dict[str, tuple[bool, bool, list[ValueState]]] = {}
    for a, spelled in cat.attributes.items():
        multiple = cat.multiple(a)
        touching = [r for r in rules if key(r.target[0]) == a or any(key(x) == a for x, _ in r.when)]
        values = []
        for value_key, option in cat.values[a].items():
            chosen = value_key in selected.get(a, set())
            trial = {**selected, a: ({*selected.get(a, set()), value_key} if multiple else {value_key})}
            excluded = needs = None
            for rule in sorted(touching, key=lambda r: r.number):
                if not _broken(rule, trial) or _broken(rule, selected):
                    continue  # only what choosing this value would newly break
                why = f"rule {rule.number}: {rule.message or rule.describe()}"
                if rule.action == "exclude" and excluded is None:
                    excluded = why
                elif rule.action == "require" and needs is None:
                    needs = why
            values.append(ValueState(option.value, option.extra, chosen, None if chosen else excluded, needs))
        states[spelled] = (cat.required(a), multiple, values)
    return states
