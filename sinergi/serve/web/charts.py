"""Charts as inline SVG (pygal): no script, no network, the same in the browser and the PDF report.

pygal puts a <style> and a <script> inside each SVG; the dashboard's Content-Security-Policy allows neither
inline, so both are cut out here and the chart style is served as a stylesheet (`stylesheet()`, at
/grafik.css) that applies to every chart (`.pygal-chart`).
"""
from __future__ import annotations

import html
import re
from functools import lru_cache

import pygal
from pygal.style import Style

from sinergi.core import fmt

_STYLE = Style(background="white", plot_background="white", font_family="sans-serif",
               colors=("#0b5394", "#e69138", "#6aa84f", "#cc0000", "#674ea7", "#45818e", "#bf9000"))


_INLINE = re.compile(r"<(style|script)\b[^>]*>.*?</\1>", re.S)
_CHART_ID = re.compile(r"#chart-[0-9a-f-]+")


def _render(chart) -> str:
    svg = chart.render(is_unicode=True, disable_xml_declaration=True)
    return _INLINE.sub("", svg).replace(' style="opacity: 0"', "")


@lru_cache(maxsize=1)
def stylesheet() -> str:
    """pygal's style for every chart (as many series colours as any chart uses), scoped to .pygal-chart."""
    chart = pygal.Line(style=_STYLE, js=[])
    for n in range(16):
        chart.add(str(n), [n])
    svg = chart.render(is_unicode=True, disable_xml_declaration=True)
    css = html.unescape("\n".join(re.findall(r"<style\b[^>]*>(.*?)</style>", svg, re.S)))  # XML-escaped in the SVG
    return _CHART_ID.sub(".pygal-chart", css) + "\n.pygal-chart .tooltip { opacity: 0; }\n"


def trend(months: list[str], series: dict[str, list[float | None]], title: str) -> str:
    """Line chart of shares (0..1) per month, labelled in percent."""
    chart = pygal.Line(style=_STYLE, js=[], height=320, width=900, title=title, x_label_rotation=0,
                       value_formatter=lambda v: fmt.persen(v) if v is not None else "-", range=(0, 1),
                       legend_at_bottom=True, legend_at_bottom_columns=4)
    chart.x_labels = [fmt.bulan(m) for m in months]
    for name, values in series.items():
        chart.add(name, values)
    return _render(chart)


def ranking(labels: list[str], values: list[float], title: str, percent: bool = True) -> str:
    """Horizontal bars, best first."""
    shown = fmt.persen if percent else fmt.angka
    chart = pygal.HorizontalBar(style=_STYLE, js=[], height=max(240, 22 * len(labels) + 80), width=900,
                                title=title, show_legend=False, value_formatter=lambda v: shown(v))
    # pygal draws the first bar at the bottom: reversed, the best comes first from the top.
    chart.x_labels = labels[::-1]
    chart.add(title, values[::-1])
    return _render(chart)
