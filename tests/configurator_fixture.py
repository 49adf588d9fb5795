"""A configurable product for tests and benchmarks: 8 attributes, 40 values, 15 rules.

A linear actuator as a price list would describe it. The same data as options/rules for the pure
function (``OPTIONS``, ``RULES``) and as `sfa product option add` / `rule add` arguments (``cli_steps``).
"""

from __future__ import annotations

from decimal import Decimal

from sfa.domain.configure import Option, Rule

SKU = "LA-600"
NAME = "Linear actuator"
BASE = Decimal("480.00")

# attribute -> [(value, extra, suffix)], the first value is the default; flags per attribute.
ATTRIBUTES: dict[str, list[tuple[str, str, str]]] = {
    "Stroke": [
        ("100 mm", "0", "100"),
        ("200 mm", "35.00", "200"),
        ("300 mm", "62.50", "300"),
        ("450 mm", "88.10", "450"),
        ("600 mm", "119.99", "600"),
    ],
    "Voltage": [
        ("24V", "0", "24"),
        ("12V", "0", "12"),
        ("48V", "22.00", "48"),
        ("110V", "41.30", "110"),
        ("230V", "44.05", "230"),
    ],
    "Force": [
        ("1000 N", "0", "F1"),
        ("2500 N", "48.00", "F2"),
        ("4000 N", "96.00", "F4"),
        ("6000 N", "150.00", "F6"),
        ("8000 N", "210.00", "F8"),
    ],
    "Housing": [
        ("aluminium", "0", "AL"),
        ("steel", "30.00", "ST"),
        ("stainless", "95.00", "SS"),
        ("plastic", "-12.00", "PL"),
        ("anodised", "18.75", "AN"),
    ],
    "Protection": [
        ("IP54", "0", ""),
        ("IP65", "14.00", "65"),
        ("IP66", "21.00", "66"),
        ("IP67", "29.90", "67"),
        ("IP69K", "64.00", "69"),
    ],
    "Feedback": [
        ("none", "0", ""),
        ("hall", "19.00", "H"),
        ("potentiometer", "24.00", "P"),
        ("encoder", "57.00", "E"),
        ("limit switch", "11.00", "L"),
    ],
    "Mounting": [
        ("clevis", "0", ""),
        ("trunnion", "16.00", "T"),
        ("flange", "23.00", "FL"),
        ("foot", "12.00", "FT"),
        ("rod eye", "7.50", "RE"),
    ],
    "Extras": [
        ("manual override", "33.00", "MO"),
        ("brake", "41.00", "BR"),
        ("bellows", "17.00", "BW"),
        ("heater", "26.00", "HT"),
        ("cable 5 m", "9.90", "C5"),
    ],
}
REQUIRED = {"Stroke", "Voltage", "Force"}
MULTIPLE = {"Extras"}
NO_DEFAULT = {"Extras"}

# (when pairs, action, target, message)
RULE_DATA: list[tuple[list[tuple[str, str]], str, tuple[str, str], str]] = [
    ([("Voltage", "230V")], "exclude", ("Housing", "plastic"), "mains voltage needs a metal housing"),
    ([("Voltage", "110V")], "exclude", ("Housing", "plastic"), "mains voltage needs a metal housing"),
    ([("Force", "8000 N")], "exclude", ("Stroke", "100 mm"), ""),
    ([("Force", "8000 N")], "require", ("Housing", "steel"), "8000 N needs the steel housing"),
    ([("Force", "6000 N")], "exclude", ("Housing", "plastic"), ""),
    ([("Protection", "IP69K")], "require", ("Housing", "stainless"), "IP69K only in stainless"),
    ([("Protection", "IP67")], "exclude", ("Extras", "manual override"), ""),
    ([("Feedback", "encoder")], "exclude", ("Voltage", "12V"), "encoders need 24V or more"),
    ([("Extras", "brake")], "exclude", ("Voltage", "230V"), ""),
    ([("Extras", "heater")], "require", ("Protection", "IP66"), "the heater is sealed to IP66"),
    ([("Mounting", "trunnion"), ("Stroke", "600 mm")], "exclude", ("Force", "1000 N"), ""),
    ([("Housing", "plastic")], "exclude", ("Extras", "brake"), ""),
    ([("Stroke", "600 mm")], "exclude", ("Mounting", "rod eye"), "long strokes need a guided mount"),
    ([("Feedback", "limit switch"), ("Protection", "IP69K")], "exclude", ("Extras", "bellows"), ""),
    ([("Voltage", "12V")], "exclude", ("Force", "8000 N"), "12V drives reach 6000 N"),
]


def options() -> list[Option]:
    result = []
    position = 0
    for attribute, values in ATTRIBUTES.items():
        for index, (value, extra, suffix) in enumerate(values):
            position += 1
            result.append(
                Option(
                    attribute,
                    value,
                    Decimal(extra),
                    suffix,
                    default=index == 0 and attribute not in NO_DEFAULT,
                    required=attribute in REQUIRED,
                    multiple=attribute in MULTIPLE,
                    position=position,
                )
            )
    return result


def rules() -> list[Rule]:
    return [
        Rule(tuple(when), action, target, message, number)
        for number, (when, action, target, message) in enumerate(RULE_DATA, start=1)
    ]


OPTIONS = options()
RULES = rules()
assert len(ATTRIBUTES) == 8 and len(OPTIONS) == 40 and len(RULES) == 15


def cli_steps() -> list[list[str]]:
    """The `sfa` argument lists that build the product."""
    steps = [["product", "add", NAME, "--sku", SKU, "--price", str(BASE)]]
    for option in OPTIONS:
        step = [
            "product",
            "option",
            "add",
            SKU,
            "--attribute",
            option.attribute,
            "--value",
            option.value,
            "--extra",
            str(option.extra),
        ]
        if option.sku_suffix:
            step += ["--sku-suffix", option.sku_suffix]
        for flag, on in (
            ("--default", option.default),
            ("--required", option.required),
            ("--multiple", option.multiple),
        ):
            if on:
                step.append(flag)
        steps.append(step)
    for rule in RULES:
        step = ["product", "rule", "add", SKU]
        for a, v in rule.when:
            step += ["--when", f"{a}={v}"]
        step += [f"--{rule.action}", f"{rule.target[0]}={rule.target[1]}"]
        if rule.message:
            step += ["--message", rule.message]
        steps.append(step)
    return steps
