"""`bcmlp bench inspection`: batched throughput and one-frame end-to-end latency, as JSON.

images_per_s: decode + preprocess + batched inference (batches of 64) of encoded images.
latency_ms_p50/p95: one frame end to end (decode, preprocess, infer, verdict, image into the
history store, record into SQLite WAL), measured per frame on a fresh temporary data dir.
"""

from __future__ import annotations

from pathlib import Path

import click

from app.commands.common import json_option, print_fields
from app.commands.inspection_options import device_option


@click.command("inspection")
@device_option
@click.option("--model", "model_path", type=click.Path(path_type=Path, dir_okay=False), default=None)
@click.option("--images", "images", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder of images to use (default: the bundled samples).")
@click.option("--seconds", default=3.0, show_default=True, type=click.FloatRange(0.2, 600))
@click.option("--frames", "n_latency", default=300, show_default=True,
              type=click.IntRange(10, 100_000), help="Frames timed one by one for the latency.")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(0, 256),
              help="CPU inference threads (0: torch's default).")
@json_option
def bench_inspection_cmd(device, model_path, images, seconds, n_latency, threads, as_json) -> None:
    """Inspection speed: {"device", "images_per_s", "latency_ms_p50", "latency_ms_p95"}."""
    from app.station.bench import run_bench

    result = run_bench(device, model_path, images, seconds, n_latency, threads)
    print_fields(result, as_json)
