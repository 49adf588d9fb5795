"""The configurator's use cases: `sfa product option add`, `rule add`, `configure`, and the
configured quote line (sfa/domain/configure.py holds the rules; docs/products.md the decisions).

Options and rules are product data: whoever may change the price list may change them (the role
check is the sales-policy issue's, on the server).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sfa.domain.configure import (
    Configuration,
    Option,
    Pair,
    Rule,
    check_name,
    configure,
    key,
    pairs_text,
    parse_pairs,
)
from sfa.domain.entities import OPTION_RULE, PRODUCT_OPTION
from sfa.domain.errors import UsageError, ValidationError
from sfa.domain.money import parse_amount
from sfa.domain.text import check_text
from sfa.services import authority, products
from sfa.store.db import Record
from sfa.store.workspace import Workspace


def option_rows(ws: Workspace, product_id: str) -> list[Record]:
    return ws.store.select(PRODUCT_OPTION, "product_id = ?", (product_id,), order="position, rid")


def rule_rows(ws: Workspace, product_id: str) -> list[Record]:
    return ws.store.select(OPTION_RULE, "product_id = ?", (product_id,), order="position, rid")


def to_option(row: Record) -> Option:
    return Option(
        attribute=row["attribute"],
        value=row["value"],
        extra=row["extra"] or Decimal(0),
        sku_suffix=row["sku_suffix"] or "",
        default=bool(row["is_default"]),
        required=bool(row["required"]),
        multiple=bool(row["multiple"]),
        position=row["position"] or 0,
    )


def to_rule(row: Record, number: int) -> Rule:
    when = tuple(parse_pairs("when", [row["when_options"]]))
    target = parse_pairs("target", [row["target"]])[0]
    return Rule(when, row["action"], target, row["message"] or "", number)


def options_and_rules(ws: Workspace, product_id: str) -> tuple[list[Option], list[Rule]]:
    options = [to_option(r) for r in option_rows(ws, product_id)]
    rules = [to_rule(r, n) for n, r in enumerate(rule_rows(ws, product_id), start=1)]
    return options, rules


def add_option(
    ws: Workspace,
    ref: str,
    *,
    attribute: str,
    value: str,
    extra: str | None = None,
    sku_suffix: str | None = None,
    default: bool = False,
    required: bool = False,
    multiple: bool = False,
) -> Record:
    authority.require_manager(ws, "product options and rules", scoped=False)
    product = products.resolve(ws, ref)
    attribute = check_name("attribute", check_text("attribute", attribute))
    value = check_name("value", check_text("value", value))
    suffix = " ".join(check_text("sku_suffix", sku_suffix or "").split()) or None
    amount = parse_amount(extra, "extra", allow_negative=True) if extra is not None else Decimal(0)
    with ws.store.transaction():
        rows = option_rows(ws, product["id"])
        same = [r for r in rows if key(r["attribute"]) == key(attribute)]
        if any(key(r["value"]) == key(value) for r in same):
            raise ValidationError("value", f"{product['sku']} already has {attribute}={value}")
        if same:
            attribute = same[0]["attribute"]  # one spelling per attribute
        position = max((r["position"] or 0 for r in rows), default=0) + 1
        return ws.store.insert(
            PRODUCT_OPTION,
            {
                "product_id": product["id"],
                "attribute": attribute,
                "value": value,
                "extra": amount,
                "sku_suffix": suffix,
                "is_default": default,
                "required": required,
                "multiple": multiple,
                "position": position,
            },
        )


def _known(options: Sequence[Option], pair: Pair, what: str) -> Pair:
    """The pair spelled as the options spell it; an error naming the allowed values otherwise."""
    attributes = {key(o.attribute): o.attribute for o in options}
    a = key(pair[0])
    if a not in attributes:
        allowed = ", ".join(dict.fromkeys(o.attribute for o in options)) or "none yet (add options first)"
        raise ValidationError(what, f"no attribute {pair[0]!r}; allowed: {allowed}")
    values = {key(o.value): o.value for o in options if key(o.attribute) == a}
    if key(pair[1]) not in values:
        raise ValidationError(
            what, f"{attributes[a]} has no value {pair[1]!r}; allowed: {', '.join(values.values())}"
        )
    return attributes[a], values[key(pair[1])]


def add_rule(
    ws: Workspace,
    ref: str,
    *,
    when: Sequence[str],
    require: str | None = None,
    exclude: str | None = None,
    message: str | None = None,
) -> Record:
    authority.require_manager(ws, "product options and rules", scoped=False)
    product = products.resolve(ws, ref)
    if (require is None) == (exclude is None):
        raise UsageError("give one of require, exclude", asks_for=("require", "exclude"))
    if not when:
        raise UsageError("give the condition when ATTR=VALUE", asks_for=("when",))
    options, _ = options_and_rules(ws, product["id"])
    conditions = [_known(options, p, "when") for p in parse_pairs("when", when)]
    action = "require" if require is not None else "exclude"
    targets = parse_pairs(action, [require or exclude or ""])
    if len(targets) != 1:
        raise ValidationError(action, "give one ATTR=VALUE")
    target = _known(options, targets[0], action)
    if any(key(a) == key(target[0]) and key(v) == key(target[1]) for a, v in conditions):
        raise ValidationError(action, f"{target[0]}={target[1]} is also in the condition (when)")
    text = " ".join(check_text("message", message or "").split()) or None
    with ws.store.transaction():
        rows = rule_rows(ws, product["id"])
        position = max((r["position"] or 0 for r in rows), default=0) + 1
        return ws.store.insert(
            OPTION_RULE,
            {
                "product_id": product["id"],
                "when_options": pairs_text(conditions),
                "action": action,
                "target": pairs_text([target]),
                "message": text,
                "position": position,
            },
        )


def product_options(ws: Workspace, ref: str) -> tuple[Record, list[Option], list[Rule]]:
    """A product with its options and rules (the dashboard's configurator dialog)."""
    product = products.resolve(ws, ref, active_only=True)
    options, rules = options_and_rules(ws, product["id"])
    return product, options, rules


def configure_product(ws: Workspace, ref: str, chosen: Sequence[str]) -> tuple[Record, Configuration]:
    """The product and its configuration for the given ATTR=VALUE items (checked, priced)."""
    product = products.resolve(ws, ref)
    pairs = parse_pairs("option", chosen)
    options, rules = options_and_rules(ws, product["id"])
    if pairs and not options:
        raise ValidationError("option", f"{product['sku']} has no options (see `sfa product option add`)")
    result = configure(product["sku"], product["name"], product["unit_price"], options, rules, pairs)
    return product, result


def check(config: Configuration) -> None:
    """Refuse a configuration with errors: the first one, naming the field, and how many more."""
    if config.errors:
        first = config.errors[0]
        more = f" (and {len(config.errors) - 1} more)" if len(config.errors) > 1 else ""
        raise ValidationError(first.attribute, first.message + more)


def remove_option(ws: Workspace, ref: str, attribute: str, value: str) -> Record:
    """Remove one option; refused while a rule names it (remove the rule first)."""
    authority.require_manager(ws, "product options and rules", scoped=False)
    product = products.resolve(ws, ref)
    options, rules = options_and_rules(ws, product["id"])
    pair = _known(options, (attribute, value), "value")
    for rule in rules:
        if any(key(a) == key(pair[0]) and key(v) == key(pair[1]) for a, v in (*rule.when, rule.target)):
            raise ValidationError(
                "value",
                f"rule {rule.number} ({rule.describe()}) names {pair[0]}={pair[1]}; remove the rule first",
            )
    row = next(
        r
        for r in option_rows(ws, product["id"])
        if key(r["attribute"]) == key(pair[0]) and key(r["value"]) == key(pair[1])
    )
    return ws.store.delete(PRODUCT_OPTION, row["id"])


def remove_rule(ws: Workspace, ref: str, number: int) -> Record:
    """Remove rule N (as `product option list` numbers them); the rules after it move up."""
    authority.require_manager(ws, "product options and rules", scoped=False)
    product = products.resolve(ws, ref)
    rows = rule_rows(ws, product["id"])
    if not 1 <= number <= len(rows):
        raise ValidationError(
            "N", f"{product['sku']} has {len(rows)} rules; give a number from 1 to {len(rows)}"
        )
    return ws.store.delete(OPTION_RULE, rows[number - 1]["id"])
