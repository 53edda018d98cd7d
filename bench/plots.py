"""The plots of docs/performance.md, drawn with matplotlib."""

from pathlib import Path

from common import PLOTS_DIR, BenchError


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise BenchError("--write-docs draws its plots with matplotlib: python -m pip install matplotlib") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


COLOURS = {
    "service": "#1f77b4",
    "service-stock": "#aec7e8",
    "service-no-key-cache": "#ff7f0e",
    "service-control": "#2ca02c",
    "reference-sync": "#bbbbbb",
    "reference-gthread": "#7f7f7f",
}


def plot_configurations(latest: dict[str, tuple[dict, dict]]) -> Path:
    plt = _pyplot()
    names = list(latest)
    figure, axes = plt.subplots(2, len(names), figsize=(5.5 * len(names), 7), squeeze=False)
    for column, name in enumerate(names):
        db = latest[name][1]
        endpoints = list(db["summary"]["endpoints"])
        configs = list(db["servers"])
        width = 0.8 / len(configs)
        for i, config in enumerate(configs):
            xs = [e + (i - (len(configs) - 1) / 2) * width for e in range(len(endpoints))]
            stats = [db["summary"]["endpoints"][e].get(config) for e in endpoints]
            rps = [s["rps_median"] if s else 0 for s in stats]
            low = [s["rps_median"] - s["rps_min"] if s else 0 for s in stats]
            high = [s["rps_max"] - s["rps_median"] if s else 0 for s in stats]
            colour = COLOURS.get(config)
            axes[0][column].bar(xs, rps, width, yerr=[low, high], capsize=3, label=config, color=colour)
            axes[1][column].bar(xs, [s["p99_ms"] if s else 0 for s in stats], width, color=colour, alpha=0.45)
            axes[1][column].bar(xs, [s["p50_ms"] if s else 0 for s in stats], width, color=colour)
        title = f"{'SQLite' if name == 'sqlite' else 'PostgreSQL'}, {db['organisations']:,} organisations"
        for row, ylabel in ((0, "requests/s (median, min–max of rounds)"), (1, "latency ms (dark: p50, light: p99)")):
            axis = axes[row][column]
            axis.set_xticks(range(len(endpoints)), endpoints)
            axis.set_ylabel(ylabel)
            axis.grid(axis="y", alpha=0.3)
        axes[0][column].set_title(title)
        for e, endpoint in enumerate(endpoints):
            ratio = db["summary"]["ratio"].get(endpoint)
            if ratio:
                top = max(s["rps_max"] for s in db["summary"]["endpoints"][endpoint].values())
                axes[0][column].annotate(f"{ratio['median']:.2f}x", (e, top), ha="center", va="bottom")
        highest = max((s["rps_max"] for per in db["summary"]["endpoints"].values() for s in per.values()), default=1)
        axes[0][column].set_ylim(0, highest * 1.15)
        axes[0][column].legend(loc="lower right", fontsize="small")
    figure.suptitle(f"One worker on one CPU, wrk -c{next(iter(latest.values()))[0]['method']['connections']}")
    figure.tight_layout()
    path = PLOTS_DIR / "configurations.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def plot_scale(result: dict) -> Path:
    plt = _pyplot()
    points = result["scale"]["points"]
    configs = list(points[0]["summary"]["endpoints"]["list"]) if points else []
    controlled = all("against_control" in p for p in points)
    figure, axes = plt.subplots(1, 3 if controlled else 2, figsize=(16 if controlled else 11, 4.2))
    latency, throughput = axes[:2]
    counts = [p["organisations"] for p in points]
    for config in configs:
        stats = [p["summary"]["endpoints"]["list"][config] for p in points]
        colour = COLOURS.get(config)
        latency.plot(counts, [s["p50_ms"] for s in stats], "o-", color=colour, label=f"{config} p50")
        latency.plot(counts, [s["p99_ms"] for s in stats], "s--", color=colour, alpha=0.6, label=f"{config} p99")
        throughput.plot(counts, [s["rps_median"] for s in stats], "o-", color=colour, label=config)
        if controlled and config in points[0]["against_control"]:
            ratios = [p["against_control"][config]["median"] for p in points]
            axes[2].plot(counts, ratios, "o-", color=colour, label=config)
    labelled = [(latency, "latency ms"), (throughput, "requests/s (median)")]
    if controlled:
        labelled.append((axes[2], "p50 / the control's p50, same round"))
    for axis, ylabel in labelled:
        axis.set_xscale("log")
        axis.set_xlabel("organisations")
        axis.set_ylabel(ylabel)
        axis.set_ylim(bottom=0)
        axis.grid(alpha=0.3)
        axis.legend(fontsize="small")
    figure.suptitle("List endpoint on PostgreSQL vs organisation count")
    figure.tight_layout()
    path = PLOTS_DIR / "scale.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
