"""One PNG per tracked numeric series when a run ends, in the run folder's plots/."""

import math
import os

ENABLED = True
SETTINGS = {
    "folder": "where the plots go, relative to the run folder (default: plots)",
    "dpi": "the resolution of the PNG files (default: 100)",
}

# Above this many points a series is drawn as the band between each bucket's lowest and
# highest value plus the bucket means, so that it stays readable (and the file small).
_BAND_ABOVE = 4000
_BUCKETS = 1000


def after_end(event):
    """Plots every tracked series that has a `.track/<name>.csv` file, however the run ended."""
    series = [name for name in event.tracked
              if os.path.isfile(os.path.join(event.path, ".track", name + ".csv"))]
    if not series:
        return
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise RuntimeError("matplotlib is not installed, so no plots "
                           "(Debian: apt install python3-matplotlib)") from None
    folder = os.path.join(event.path, str(event.settings.get("folder", "plots")))
    dpi = int(event.settings.get("dpi", 100))
    problems = []
    saved = 0
    for name in series:
        try:
            steps, values, skipped = _read(os.path.join(event.path, ".track", name + ".csv"))
            if not values:
                continue
            target = os.path.join(folder, name + ".png")
            os.makedirs(os.path.dirname(target), exist_ok=True)
            figure = Figure(figsize=(8, 4.5))
            FigureCanvasAgg(figure)
            _draw(figure.add_subplot(), name, steps, values, skipped)
            figure.tight_layout()
            figure.savefig(target, dpi=dpi)
            saved += 1
        except Exception as error:  # noqa: BLE001 - one bad series must not cost the others
            problems.append(f"{name}: {type(error).__name__}: {error}")
    if saved:
        shown = os.path.relpath(folder, event.path)
        print(f"plot_track: {saved} plot{'s' if saved > 1 else ''} in {shown}/", flush=True)
    if problems:
        raise RuntimeError("; ".join(problems))


def _read(path):
    """Steps and values of the finite points, and how many were not finite."""
    import csv  # here, not at the top: every run imports the plugins

    steps, values, skipped = [], [], 0
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):  # step,value,time[,stage]
            if None in row.values():
                continue  # fewer columns than the header: a line cut short by a kill
            try:
                step, value = int(row["step"]), float(row["value"])
            except (TypeError, ValueError, KeyError):
                continue  # a line cut short by a killed process
            if math.isfinite(value):
                steps.append(step)
                values.append(value)
            else:
                skipped += 1
    return steps, values, skipped


def _draw(axes, name, steps, values, skipped):
    count = len(values)
    if count > _BAND_ABOVE:
        size = math.ceil(count / _BUCKETS)
        middle, low, high, mean = [], [], [], []
        for start in range(0, count, size):
            chunk = values[start:start + size]
            middle.append(steps[start + len(chunk) // 2])
            low.append(min(chunk))
            high.append(max(chunk))
            mean.append(sum(chunk) / len(chunk))
        axes.fill_between(middle, low, high, color="tab:blue", alpha=0.25, linewidth=0,
                          label=f"range per {size} steps")
        axes.plot(middle, mean, color="tab:blue", linewidth=1.2, label=f"mean per {size} steps")
    else:
        axes.plot(steps, values, color="tab:blue", linewidth=1.2 if count < 500 else 0.7,
                  marker="o" if count <= 30 else None, markersize=3)
    lowest = min(range(count), key=values.__getitem__)
    highest = max(range(count), key=values.__getitem__)
    marks = [(highest, "max", "tab:red", "^"), (lowest, "min", "tab:green", "v"),
             (count - 1, "last", "black", "o")]
    for index, label, color, marker in marks:
        axes.scatter([steps[index]], [values[index]], color=color, marker=marker, s=40,
                     zorder=3, label=f"{label} {values[index]:.6g} (step {steps[index]})")
    positive = min(values) > 0
    if positive and max(values) / min(values) > 1e3:
        axes.set_yscale("log")  # losses falling over orders of magnitude
    title = name if not skipped else f"{name}  ({skipped} NaN/inf values not shown)"
    axes.set_title(title)
    axes.set_xlabel("step")
    axes.set_ylabel("value")
    axes.grid(True, alpha=0.3)
    axes.legend(loc="best", fontsize="small")
