"""Trend charts of the scheduled reports, rendered server-side as PNG (matplotlib, Agg backend),
so every mail client shows them: they travel as inline MIME parts (cid:) and, in the console's
preview, as data: URIs."""
import io
from datetime import date, datetime

import matplotlib

matplotlib.use("Agg")  # no display: render to memory only
from matplotlib import dates as mdates  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

INK, MUTED, LINE = "#344054", "#667085", "#eaecf0"
GREEN, RED, BRAND, AMBER = "#12b76a", "#f04438", "#4f46e5", "#f79009"


def _x(period, hourly: bool):
    if hourly:
        return period if isinstance(period, datetime) else datetime.fromisoformat(str(period))
    return period if isinstance(period, date) else date.fromisoformat(str(period)[:10])


def _figure():
    fig, ax = plt.subplots(figsize=(6.4, 2.3), dpi=110)
    fig.patch.set_facecolor("white")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color(LINE)
    ax.tick_params(colors=MUTED, labelsize=8, length=0)
    ax.grid(axis="y", color=LINE, linewidth=0.8)
    ax.set_axisbelow(True)
    return fig, ax


def _finish(fig, ax, title, hourly, tz, has_data=True) -> bytes:
    ax.set_title(title, loc="left", fontsize=10, color=INK, fontweight="bold", pad=8)
    if not has_data:
        ax.set_xticks([])
    elif hourly:
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=tz))
    else:
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
        lo, hi = ax.get_xlim()
        if hi - lo < 3:  # a day or two: pad, so the locator has a range to tick
            ax.set_xlim(lo - 1, hi + 1)
        ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=2, maxticks=8))
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    return out.getvalue()


def _no_data(ax):
    ax.text(0.5, 0.5, "No requests in this period", ha="center", va="center", color=MUTED, fontsize=9,
            transform=ax.transAxes)
    ax.set_yticks([])


def _bar_width(hourly):
    return 1 / 24 * 0.8 if hourly else 0.8


def requests_chart(points, hourly, tz) -> bytes:
    fig, ax = _figure()
    if points:
        xs = [_x(p["period"], hourly) for p in points]
        ok = [p["successful_requests"] for p in points]
        bad = [p["failed_requests"] for p in points]
        ax.bar(xs, ok, width=_bar_width(hourly), color=GREEN, label="Successful")
        ax.bar(xs, bad, width=_bar_width(hourly), bottom=ok, color=RED, label="Failed")
        ax.legend(loc="lower right", fontsize=7.5, frameon=False, ncol=2, bbox_to_anchor=(1.0, 1.0))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    else:
        _no_data(ax)
    return _finish(fig, ax, "Requests", hourly, tz, bool(points))


def latency_chart(points, hourly, tz) -> bytes:
    fig, ax = _figure()
    shown = [p for p in points if p.get("p95_latency_ms") is not None]
    if shown:
        xs = [_x(p["period"], hourly) for p in shown]
        ax.plot(xs, [p["p50_latency_ms"] for p in shown], color=MUTED, linewidth=1.4, label="p50")
        ax.plot(xs, [p["p95_latency_ms"] for p in shown], color=BRAND, linewidth=2, marker="o", markersize=3,
                label="p95")
        ax.legend(loc="lower right", fontsize=7.5, frameon=False, ncol=2, bbox_to_anchor=(1.0, 1.0))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f} ms"))
        ax.set_ylim(bottom=0)
    else:
        _no_data(ax)
    return _finish(fig, ax, "Latency", hourly, tz, bool(shown))


def cost_chart(points, hourly, tz) -> bytes:
    fig, ax = _figure()
    if points:
        xs = [_x(p["period"], hourly) for p in points]
        ax.bar(xs, [p["total_cost_usd"] for p in points], width=_bar_width(hourly), color=AMBER)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"${v:,.2f}"))
    else:
        _no_data(ax)
    return _finish(fig, ax, "Cost (USD)", hourly, tz, bool(points))
