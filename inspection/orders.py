"""Orders (quality requirements) and process/tool parameters, parsed from JSON or CSV files.

An order: `id`, optional `name`, `threshold_permille` (0..1000: the lowest acceptable quality
index) and `severity_permille` per defect class (0: harmless for this order, 1000: any sign of it
rejects the part). Classes an order does not name get `default_severity_permille` (1000 unless
given).

JSON: one order object, a list of them, or {"orders": [...]}.
CSV: a header with `order_id` and `threshold_permille`, optional `name` and
`default_severity_permille`, and one column per class name holding its severity.

Process and tool parameters: a CSV with a `workpiece_id` column; the other columns are kept as
strings and attached to the record of that workpiece.

All numbers are integers; files are size-bounded; every problem is an OrderError naming the
place.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inspection.errors import OrderError

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_ORDERS = 10_000
MAX_PARAM_ROWS = 1_000_000
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/#-]{0,127}$")
FIXED_COLUMNS = ("order_id", "name", "threshold_permille", "default_severity_permille")


@dataclass(frozen=True)
class Order:
    id: str
    threshold_permille: int
    severity_permille: dict[str, int] = field(default_factory=dict)
    default_severity_permille: int = 1000
    name: str = ""

    def severity(self, cls: str) -> int:
        return self.severity_permille.get(cls, self.default_severity_permille)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "threshold_permille": self.threshold_permille,
            "default_severity_permille": self.default_severity_permille,
            "severity_permille": dict(sorted(self.severity_permille.items())),
        }


def _permille(value: Any, where: str) -> int:
    if isinstance(value, bool):
        raise OrderError(f"{where}: expected an integer 0..1000, got {value!r}")
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"[+-]?\d{1,7}", text):
            raise OrderError(f"{where}: expected an integer 0..1000, got {value!r}")
        value = int(text)
    if type(value) is not int or not 0 <= value <= 1000:
        raise OrderError(f"{where}: expected an integer 0..1000, got {value!r}")
    return value


def _order_id(value: Any, where: str) -> str:
    if not isinstance(value, str) or not ID_RE.match(value):
        raise OrderError(f"{where}: order id must be 1-128 letters, digits or _.:/#- (got {value!r})")
    return value


def order_from_dict(obj: Any, where: str = "order") -> Order:
    if not isinstance(obj, dict):
        raise OrderError(f"{where}: an order must be a JSON object")
    unknown = set(obj) - {"id", "name", "threshold_permille", "severity_permille",
                          "default_severity_permille"}
    if unknown:
        raise OrderError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    oid = _order_id(obj.get("id"), where)
    name = obj.get("name", "")
    if not isinstance(name, str) or len(name) > 200:
        raise OrderError(f"{where}: name must be a string of at most 200 characters")
    if "threshold_permille" not in obj:
        raise OrderError(f"{where}: threshold_permille is missing")
    threshold = _permille(obj["threshold_permille"], f"{where}.threshold_permille")
    default = _permille(obj.get("default_severity_permille", 1000),
                        f"{where}.default_severity_permille")
    sev_raw = obj.get("severity_permille", {})
    if not isinstance(sev_raw, dict) or len(sev_raw) > 1000:
        raise OrderError(f"{where}.severity_permille must be an object of class: integer")
    sev = {}
    for k, v in sev_raw.items():
        if not isinstance(k, str) or not k or len(k) > 100:
            raise OrderError(f"{where}.severity_permille: bad class name {k!r}")
        sev[k] = _permille(v, f"{where}.severity_permille[{k}]")
    return Order(oid, threshold, sev, default, name)


def _check_unique(orders: list[Order]) -> list[Order]:
    if not orders:
        raise OrderError("the file holds no orders")
    if len(orders) > MAX_ORDERS:
        raise OrderError(f"more than {MAX_ORDERS} orders")
    seen = set()
    for o in orders:
        if o.id in seen:
            raise OrderError(f"order id {o.id!r} appears twice")
        seen.add(o.id)
    return orders


def parse_orders_json(text: str) -> list[Order]:
    try:
        obj = json.loads(text, parse_float=lambda s: _reject_float(s))
    except OrderError:
        raise
    except (json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise OrderError(f"orders file is not valid JSON: {exc}") from None
    if isinstance(obj, dict) and "orders" in obj:
        if set(obj) != {"orders"}:
            raise OrderError("orders file: only the key 'orders' is allowed at the top")
        obj = obj["orders"]
    items = obj if isinstance(obj, list) else [obj]
    return _check_unique([order_from_dict(o, f"order {i + 1}") for i, o in enumerate(items)])


def _reject_float(text: str) -> Any:
    raise OrderError(f"orders file: {text[:20]} is not an integer (use per-mille integers)")


def _csv_rows(text: str) -> tuple[list[str], list[list[str]]]:
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise OrderError(f"bad CSV: {exc}") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise OrderError("CSV file is empty")
    header = [h.strip() for h in rows[0]]
    if len(set(header)) != len(header) or any(not h for h in header):
        raise OrderError("CSV header has empty or repeated column names")
    for n, r in enumerate(rows[1:], start=2):
        if len(r) != len(header):
            raise OrderError(f"CSV row {n}: {len(r)} fields, the header has {len(header)}")
    return header, rows[1:]


def parse_orders_csv(text: str) -> list[Order]:
    header, rows = _csv_rows(text)
    for col in ("order_id", "threshold_permille"):
        if col not in header:
            raise OrderError(f"orders CSV needs a column {col!r}")
    orders = []
    for n, row in enumerate(rows, start=2):
        rec = dict(zip(header, row, strict=True))
        sev = {k: v for k, v in rec.items() if k not in FIXED_COLUMNS and v.strip() != ""}
        obj: dict[str, Any] = {
            "id": rec["order_id"].strip(),
            "name": rec.get("name", "").strip(),
            "threshold_permille": rec["threshold_permille"],
            "severity_permille": sev,
        }
        if rec.get("default_severity_permille", "").strip():
            obj["default_severity_permille"] = rec["default_severity_permille"]
        orders.append(order_from_dict(obj, f"CSV row {n}"))
    return _check_unique(orders)


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise OrderError(f"{path} is larger than {MAX_FILE_BYTES} bytes")
        return path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise OrderError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise OrderError(f"{path} is not UTF-8 text") from None


def load_orders(path: Path) -> list[Order]:
    """Orders from a .json or .csv file."""
    path = Path(path)
    text = _read_text(path)
    if path.suffix.lower() == ".csv":
        return parse_orders_csv(text)
    if path.suffix.lower() == ".json":
        return parse_orders_json(text)
    raise OrderError(f"{path}: orders must be a .json or .csv file")


def pick_order(orders: list[Order], order_id: str | None) -> Order:
    """The order with this id, or the first one when no id is given."""
    if order_id is None:
        return orders[0]
    for o in orders:
        if o.id == order_id:
            return o
    raise OrderError(f"order {order_id!r} is not in the orders file")


def parse_parameters_csv(text: str) -> dict[str, dict[str, str]]:
    """{workpiece_id: {column: value}} from CSV text with a `workpiece_id` column."""
    header, rows = _csv_rows(text)
    if "workpiece_id" not in header:
        raise OrderError("parameters CSV needs a column 'workpiece_id'")
    if len(rows) > MAX_PARAM_ROWS:
        raise OrderError(f"parameters CSV has more than {MAX_PARAM_ROWS} rows")
    out: dict[str, dict[str, str]] = {}
    for n, row in enumerate(rows, start=2):
        rec = {k: v.strip() for k, v in zip(header, row, strict=True)}
        wid = rec.pop("workpiece_id")
        if not wid or len(wid) > 256:
            raise OrderError(f"parameters CSV row {n}: empty or too long workpiece_id")
        if wid in out:
            raise OrderError(f"parameters CSV row {n}: workpiece {wid!r} appears twice")
        out[wid] = rec
    return out


def load_parameters(path: Path) -> dict[str, dict[str, str]]:
    return parse_parameters_csv(_read_text(Path(path)))
