"""Orders (JSON/CSV), process parameters, the quality index and the verdict."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspection.errors import OrderError
from inspection.orders import (
    Order,
    load_orders,
    parse_orders_csv,
    parse_orders_json,
    parse_parameters_csv,
    pick_order,
)
from inspection.quality import assess, to_permille

CLASSES = ("crazing", "inclusion", "patches", "pitted_surface", "rolled-in_scale", "scratches")


def test_json_forms(tmp_path):
    one = {"id": "A-1", "threshold_permille": 700, "severity_permille": {"crazing": 100}}
    for doc in (one, [one], {"orders": [one]}):
        [o] = parse_orders_json(json.dumps(doc))
        assert o == Order("A-1", 700, {"crazing": 100})
        assert o.severity("crazing") == 100 and o.severity("scratches") == 1000
    p = tmp_path / "o.json"
    p.write_text(json.dumps(one))
    assert load_orders(p)[0].id == "A-1"


def test_pick_order_by_id_or_the_first():
    orders = [Order("A-1", 700), Order("B-2", 500)]
    assert pick_order(orders, None) == orders[0] and pick_order(orders, "B-2") == orders[1]
    with pytest.raises(OrderError, match="order 'C-3' is not in the orders file"):
        pick_order(orders, "C-3")


def test_csv_form(tmp_path):
    text = "order_id,name,threshold_permille,default_severity_permille,crazing,scratches\n" \
           "A-1,cosmetic,600,900,100,\nB-2,safety,800,,500,1000\n"
    a, b = parse_orders_csv(text)
    assert a.name == "cosmetic" and a.severity("crazing") == 100 and a.severity("scratches") == 900
    assert b.default_severity_permille == 1000 and b.severity("scratches") == 1000
    p = tmp_path / "o.csv"
    p.write_text(text)
    assert [o.id for o in load_orders(p)] == ["A-1", "B-2"]


@pytest.mark.parametrize(
    "doc",
    [
        "{", "[]", "3", '{"id": "A", "threshold_permille": 0.5}',
        '{"id": "A"}', '{"id": "", "threshold_permille": 1}',
        '{"id": "A", "threshold_permille": 1001}', '{"id": "A", "threshold_permille": true}',
        '{"id": "A", "threshold_permille": 5, "severity_permille": {"x": -1}}',
        '{"id": "A", "threshold_permille": 5, "colour": "red"}',
        '[{"id": "A", "threshold_permille": 5}, {"id": "A", "threshold_permille": 6}]',
        '{"orders": [], "more": 1}',
    ],
)
def test_bad_json_orders(doc):
    with pytest.raises(OrderError):
        parse_orders_json(doc)


@pytest.mark.parametrize(
    "text",
    ["", "order_id\nA\n", "threshold_permille\n5\n", "order_id,threshold_permille\nA,5,6\n",
     "order_id,threshold_permille,crazing\nA,5,lots\n", "order_id,order_id\nA,A\n",
     "order_id,threshold_permille\nA,-4\n"],
)
def test_bad_csv_orders(text):
    with pytest.raises(OrderError):
        parse_orders_csv(text)


def test_load_orders_refuses_other_files(tmp_path):
    p = tmp_path / "o.txt"
    p.write_text("x")
    with pytest.raises(OrderError):
        load_orders(p)
    with pytest.raises(OrderError):
        load_orders(tmp_path / "missing.json")
    bad = tmp_path / "bin.json"
    bad.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(OrderError, match="UTF-8"):
        load_orders(bad)


def test_parameters_csv():
    p = parse_parameters_csv("workpiece_id,tool,feed\nw1.jpg,T7,120\nw2.jpg,T8,90\n")
    assert p["w1.jpg"] == {"tool": "T7", "feed": "120"}
    with pytest.raises(OrderError):
        parse_parameters_csv("tool\nT7\n")
    with pytest.raises(OrderError):
        parse_parameters_csv("workpiece_id,tool\nw1,a\nw1,b\n")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_order_parsers(text):
    for parse in (parse_orders_json, parse_orders_csv, parse_parameters_csv):
        try:
            out = parse(text)
        except OrderError:
            continue
        assert isinstance(out, list | dict)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=12).filter(lambda v: sum(v) > 0))
def test_permille_sums_to_1000(probs):
    pm = to_permille(probs)
    assert sum(pm) == 1000 and all(p >= 0 for p in pm)
    total = sum(probs)
    assert all(abs(p - v * 1000 / total) < 1 for p, v in zip(pm, probs, strict=True))


def test_quality_index_and_verdict():
    order = Order("A", 700, {"crazing": 100, "scratches": 1000})
    harmless = assess(CLASSES, [0.98, 0.0, 0.0, 0.0, 0.0, 0.02], order)
    assert harmless.probs_permille["crazing"] == 980
    assert harmless.quality_permille == 1000 - round((980 * 100 + 20 * 1000) / 1000)
    assert harmless.verdict == "OK" and harmless.top_class == "crazing"
    severe = assess(CLASSES, [0.0, 0.0, 0.0, 0.0, 0.1, 0.9], order)
    assert severe.quality_permille == 0 and severe.verdict == "NOK"
    at_threshold = assess(CLASSES, [0.0, 0.0, 0.0, 0.3, 0.0, 0.7], Order("B", 1000, {}, 0))
    assert at_threshold.quality_permille == 1000 and at_threshold.verdict == "OK"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=6, max_size=6).filter(lambda v: sum(v) > 0),
       st.lists(st.integers(0, 1000), min_size=6, max_size=6), st.integers(0, 1000))
def test_quality_bounds(probs, sev, threshold):
    a = assess(CLASSES, probs, Order("X", threshold, dict(zip(CLASSES, sev, strict=True))))
    assert 0 <= a.quality_permille <= 1000
    assert (a.verdict == "OK") == (a.quality_permille >= threshold)
