"""The results files of the benchmark scripts: which machine they ran on (host, CPU model and
cores), and one atomic CSV writer for all of them."""

from __future__ import annotations

import csv
import os
import platform
from collections.abc import Iterable
from pathlib import Path


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine() -> str:
    return f"{platform.node()}; {cpu_model()}; {os.cpu_count()} cores"


def write_csv(path: Path, rows: Iterable[dict], columns: list[str]) -> None:
    """`rows` (only `columns`, in that order) to a temporary file renamed onto `path`, so an
    interrupted study never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)
