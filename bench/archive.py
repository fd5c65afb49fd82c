#!/usr/bin/env python3
"""Archive commands over a generated archive of many runs, as ratios measured in one run.

Generates RUNS run folders (meta, data, log, a tracked series, one larger artifact), then times
the cold build of the index, `xrun archive list` with a warm index, `--where` queries on
parameters and on data values, and `xrun archive compress` against `tar -I 'zstd -T2'` on the
same runs (the median of three interleaved rounds each).
Usage: bench/archive.py [--xrun build/xrun] [--runs 10000]
"""

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from timing import median_seconds, scratch_folder

ROOT = Path(__file__).resolve().parents[1]


def generate(base: Path, runs: int):
    rng = __import__("random").Random(0)
    for i in range(runs):
        folder = base / "results" / f"exp{i % 10}" / f"2026-11-23_10-00-{i // 1000:02}-{i % 1000:03}_r{i:05}"
        (folder / ".track").mkdir(parents=True)
        lr = rng.choice([0.1, 0.01, 0.001])
        meta = {
            "format": 1, "id": folder.name, "name": f"exp{i % 10}",
            "namespace": f"results/exp{i % 10}", "status": rng.choice(["done", "done", "failed"]),
            "start_time": 1795440000 + i, "end_time": 1795440000 + i + 30, "duration": 30.0,
            "heartbeat": 1795440030 + i, "exit_code": 0, "host": "node1", "pid": 1000 + i,
            "parameters": {
                "LR": {"name": "LR", "type": "float", "value": lr, "source": "cli"},
                "EPOCHS": {"name": "EPOCHS", "type": "int", "value": 10, "source": "default"},
                "MODEL": {"name": "MODEL", "type": "str", "value": "resnet", "source": "default"},
            },
            "tracked": ["loss"],
        }
        (folder / "experiment_meta.json").write_text(json.dumps(meta, indent=2))
        (folder / "experiment_data.json").write_text(json.dumps({"metrics": {"acc": rng.random()}}))
        (folder / "experiment_out.log").write_text("".join(f"epoch {e} loss {1 / (e + 1)}\n"
                                                           for e in range(50)))
        (folder / ".track" / "loss.csv").write_text(
            "step,value,time\n" + "".join(f"{s},{rng.random()},{1795440000 + s}\n"
                                          for s in range(500)))
        (folder / "weights.bin").write_bytes(os.urandom(2048) * 8)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xrun", default=str(ROOT / "build" / "xrun"))
    parser.add_argument("--runs", type=int, default=10000)
    args = parser.parse_args()
    with scratch_folder() as work:
        generate(work, args.runs)
        size = sum(f.stat().st_size for f in (work / "results").rglob("*") if f.is_file())
        print(f"{args.runs} runs, {size / 2**20:.0f} MB")
        cold = median_seconds([args.xrun, "archive", "index", "--rebuild"], work)
        time.sleep(2.1)  # past the window in which the index does not trust file times
        median_seconds([args.xrun, "archive", "index"], work, 1)
        baseline = median_seconds([args.xrun, "archive", "list", "--path", "/nonexistent"], work, 10,
                         check=False)
        listing = median_seconds([args.xrun, "archive", "list"], work, 10)
        query = median_seconds([args.xrun, "archive", "list", "--where",
                       'LR >= 0.01 and status == "done"'], work, 5)
        data = median_seconds([args.xrun, "archive", "list", "--where", "data.metrics.acc > 0.5"],
                     work, 5)
        find = median_seconds(["find", "results", "-name", "experiment_meta.json"], work, 5)
        print(f"index, cold rebuild          {cold * 1000:8.0f} ms")
        print(f"archive list, warm index     {listing * 1000:8.0f} ms  (target: 50 ms; "
              f"xrun's own start {baseline * 1000:.0f} ms)")
        print(f"archive list --where params  {query * 1000:8.0f} ms")
        print(f"archive list --where data.*  {data * 1000:8.0f} ms")
        print(f"find -name experiment_meta   {find * 1000:8.0f} ms  "
              f"(list / find = {listing / find:.2f})")
        # Interleaved rounds, so a burst of load on the shared machine falls on both sides.
        ours_times, tar_times = [], []
        for _ in range(3):
            ours_times.append(median_seconds(
                [args.xrun, "archive", "compress", "--all", "-o", "ours.tar.zst"], work, 1))
            (work / "ours.tar.zst").unlink()
            tar_times.append(median_seconds(
                ["tar", "-I", "zstd -T2", "-cf", "tar.tar.zst", "results"], work, 1))
            (work / "tar.tar.zst").unlink()
        ours, tar = statistics.median(ours_times), statistics.median(tar_times)
        print(f"compress: xrun {size / ours / 2**20:6.0f} MB/s, tar -I 'zstd -T2' "
              f"{size / tar / 2**20:6.0f} MB/s, ratio {tar / ours:.2f} (target >= 1.0)")


if __name__ == "__main__":
    main()
