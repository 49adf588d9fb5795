"""The nesting check of request bodies read from the JSON text (sfa/server/limits.py,
`text_depth_over`) gives the answer the walk of the parsed value (`depth_over`) gives, for any JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sfa.server import limits

# Text that could fool a scan of the raw bytes: brackets, quotes and backslashes inside strings.
_TEXT = st.text(alphabet=st.sampled_from('[]{}"\\,:ab é\u2028\U0001f600\n\t'), max_size=8)
_VALUES: Any = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(_VALUES, st.booleans(), st.booleans())
def test_text_depth_is_the_value_depth(value: Any, ascii_only: bool, spaced: bool) -> None:
    separators = (", ", ": ") if spaced else (",", ":")
    raw = json.dumps(value, ensure_ascii=ascii_only, separators=separators).encode()
    for limit in range(8):
        assert limits.text_depth_over(raw, limit) == limits.depth_over(value, limit)


@pytest.mark.parametrize("depth", [63, 64, 65, 200])
def test_deep_bodies(depth: int) -> None:
    raw = ("[" * depth + "]" * depth).encode()
    assert limits.text_depth_over(raw, limits.MAX_DEPTH) is (depth > limits.MAX_DEPTH)
    if depth > limits.MAX_DEPTH:
        with pytest.raises(limits.BodyError):
            limits.parse_json(raw)
    else:
        assert limits.parse_json(raw) is not None


def test_utf16_falls_back_to_the_walk() -> None:
    raw = json.dumps({"a": [[["x"]]]}).encode("utf-16")
    assert limits.text_depth_over(raw, 2) is None
    with pytest.raises(limits.BodyError):
        limits.parse_json(("[" * 65 + "]" * 65).encode("utf-16-le"))
    assert limits.parse_json(raw) == {"a": [[["x"]]]}
