"""Charts as inline SVG (pygal): no script, no network, the same in the browser and the PDF report."""
from __future__ import annotations

import pygal
from pygal.style import Style

from .. import fmt

_STYLE = Style(background="white", plot_background="white", font_family="sans-serif",
               colors=("#0b5394", "#e69138", "#6aa84f", "#cc0000", "#674ea7", "#45818e", "#bf9000"))


def _render(chart) -> str:
    return chart.render(is_unicode=True, disable_xml_declaration=True)


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
