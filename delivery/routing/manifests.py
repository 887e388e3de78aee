"""Manifests for a delivery date's plan, per bus or for the whole date, as CSV, XLSX and PDF:

- ``route_sheet``: sequence, ETA, customer, address, phone, access notes, baskets by type and
  count, paid status (PDF: a signature box per stop);
- ``loading_list``: per bus, baskets by type in *reverse* stop order (first out, last in);
- ``picking_list``: component totals for the warehouse, per bus and for the date.

Rows are produced lazily (querysets iterated in chunks) and written to the response as they come
(CSV) or to a temporary file in constant memory (XLSX in openpyxl's write-only mode, PDF drawn
page by page on a reportlab canvas), so 5,000 stops export in constant memory.

Every text cell is neutralised against spreadsheet formula injection: a cell beginning with
``= + - @``, tab or carriage return is prefixed with a quote. That matters in XLSX too, where
openpyxl writes any string beginning with ``=`` as a formula.
"""

from __future__ import annotations

import csv
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, Sum
from django.utils.translation import gettext as _
from oscar.apps.order.models import Line

from delivery.routing.models import PlannedOrder, Route, RoutePlan, RouteStop
from essentiels.spreadsheets import cell_safe

PARIS = ZoneInfo("Europe/Paris")
KINDS = ("route_sheet", "loading_list", "picking_list")
FORMATS = ("csv", "xlsx", "pdf")


@dataclass(frozen=True)
class Manifest:
    title: str
    header: list[str]
    rows: Iterable[list]
    # Relative PDF column widths (same length as header); the route sheet adds a signature box.
    widths: list[float]
    signature: bool = False


def _routes(plan: RoutePlan, bus_id: int | None):
    routes = Route.objects.filter(plan=plan).select_related("bus").order_by("bus__name", "pk")
    if bus_id is not None:
        routes = routes.filter(bus_id=bus_id)
    return routes


def _stops(route: Route, *, reverse: bool = False):
    order = "-sequence" if reverse else "sequence"
    planned = PlannedOrder.objects.select_related(
        "order_delivery__order__shipping_address"
    ).prefetch_related(
        Prefetch("order_delivery__order__lines", queryset=Line.objects.order_by("pk")),
        "order_delivery__order__sources",
    )
    return (
        RouteStop.objects.filter(route=route)
        .order_by(order)
        .prefetch_related(Prefetch("orders", queryset=planned.order_by("pk")))
    )


def _baskets_by_type(orders) -> str:
    counts: Counter[str] = Counter()
    for planned in orders:
        for line in planned.order_delivery.order.lines.all():
            counts[line.title] += line.quantity
    return "; ".join(f"{n} × {title}" for title, n in sorted(counts.items()))


def _paid_status(order) -> str:
    debited = sum((s.amount_debited for s in order.sources.all()), Decimal("0"))
    allocated = sum((s.amount_allocated for s in order.sources.all()), Decimal("0"))
    if order.total_incl_tax is not None and debited >= order.total_incl_tax:
        return _("paid")
    if allocated > 0:
        return _("authorised")
    return _("unpaid")


def _eta(stop: RouteStop) -> str:
    return stop.eta.astimezone(PARIS).strftime("%H:%M") if stop.eta else ""


def _route_sheet_rows(plan: RoutePlan, bus_id: int | None) -> Iterator[list]:
    for route in _routes(plan, bus_id):
        for stop in _stops(route):
            for planned in stop.orders.all():
                order = planned.order_delivery.order
                address = order.shipping_address
                name = address.name if address is not None else order.email
                yield [
                    str(route.bus),
                    stop.sequence,
                    _eta(stop),
                    order.number,
                    name,
                    stop.address,
                    f"{stop.postcode} {stop.city}".strip(),
                    str(address.phone_number or "") if address is not None else "",
                    (address.notes or "") if address is not None else "",
                    _baskets_by_type([planned]),
                    planned.baskets,
                    _paid_status(order),
                ]


def _loading_rows(plan: RoutePlan, bus_id: int | None) -> Iterator[list]:
    for route in _routes(plan, bus_id):
        # Loaded first what is delivered last.
        for stop in _stops(route, reverse=True):
            yield [
                str(route.bus),
                stop.sequence,
                stop.address,
                f"{stop.postcode} {stop.city}".strip(),
                _baskets_by_type(stop.orders.all()),
                stop.baskets,
            ]


def _picking_rows(plan: RoutePlan, bus_id: int | None) -> Iterator[list]:
    """Component totals: per bus, then (for the whole date) a total block. A component the
    supply team substituted on this date is picked as its substitute."""
    from baskets.models import BasketComponent
    from supply.models import ComponentSubstitution

    substitutes = {
        str(product_id): (str(substitute_id), title)
        for product_id, substitute_id, title in ComponentSubstitution.objects.filter(
            delivery_date=plan.delivery_date
        ).values_list("product_id", "substitute_id", "substitute__title")
    }
    date_totals: Counter[tuple[str, str]] = Counter()
    for route in _routes(plan, bus_id):
        totals: Counter[tuple[str, str]] = Counter()
        lines = (
            Line.objects.filter(order__delivery__planned__stop__route=route)
            .select_related("cost")
            .only("product_id", "quantity", "title", "cost__composition")
        )
        fallback: dict[int, list] = {}
        for line in lines.iterator(chunk_size=500):
            composition = getattr(getattr(line, "cost", None), "composition", None)
            if not composition and line.product_id is not None:
                # No composition kept with the order (placed before costs were recorded): the
                # basket's composition today.
                if line.product_id not in fallback:
                    fallback[line.product_id] = [
                        {
                            "product_id": c.product_id,
                            "title": c.product.title,
                            "quantity": c.quantity,
                        }
                        for c in BasketComponent.objects.filter(
                            variant__product_id=line.product_id
                        ).select_related("product")
                    ]
                composition = fallback[line.product_id]
            for item in composition or []:
                product_id = str(item.get("product_id", ""))
                key = substitutes.get(product_id) or (product_id, str(item.get("title", "")))
                totals[key] += int(item.get("quantity", 0)) * line.quantity
        for (product_id, title), quantity in sorted(totals.items(), key=lambda kv: kv[0][1]):
            yield [str(route.bus), product_id, title, quantity]
        date_totals.update(totals)
    if bus_id is None:
        for (product_id, title), quantity in sorted(date_totals.items(), key=lambda kv: kv[0][1]):
            yield [_("All buses"), product_id, title, quantity]


def manifest_build(*, plan: RoutePlan, kind: str, bus_id: int | None = None) -> Manifest:
    day = plan.delivery_date.strftime("%d/%m/%Y")
    if kind == "route_sheet":
        return Manifest(
            title=_("Route sheet — %(day)s") % {"day": day},
            header=[
                _("Bus"),
                _("Stop"),
                _("ETA"),
                _("Order"),
                _("Customer"),
                _("Address"),
                _("City"),
                _("Phone"),
                _("Access notes"),
                _("Baskets by type"),
                _("Baskets"),
                _("Payment"),
            ],
            rows=_route_sheet_rows(plan, bus_id),
            widths=[5, 2, 2.5, 4, 6, 9, 6, 5, 6, 9, 2.5, 3.5],
            signature=True,
        )
    if kind == "loading_list":
        return Manifest(
            title=_("Loading list — %(day)s") % {"day": day},
            header=[
                _("Bus"),
                _("Stop"),
                _("Address"),
                _("City"),
                _("Baskets by type"),
                _("Baskets"),
            ],
            rows=_loading_rows(plan, bus_id),
            widths=[5, 2, 10, 7, 14, 3],
        )
    if kind == "picking_list":
        return Manifest(
            title=_("Picking list — %(day)s") % {"day": day},
            header=[_("Bus"), _("Product id"), _("Product"), _("Quantity")],
            rows=_picking_rows(plan, bus_id),
            widths=[6, 4, 18, 4],
        )
    raise ValueError(kind)


# --- writers ------------------------------------------------------------------------------------
class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_stream(manifest: Manifest) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # so that Excel reads UTF-8
    yield writer.writerow([cell_safe(h) for h in manifest.header])
    for row in manifest.rows:
        yield writer.writerow([cell_safe(value) for value in row])


def xlsx_file(manifest: Manifest):
    """A temporary file holding the workbook, written row by row (write-only mode)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=manifest.title[:31].replace("/", "-"))
    sheet.append([cell_safe(h) for h in manifest.header])
    for row in manifest.rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=cell_safe(value))
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, never a formula, whatever openpyxl guesses
            cells.append(cell)
        sheet.append(cells)
    handle = tempfile.TemporaryFile()
    workbook.save(handle)
    handle.seek(0)
    return handle


def pdf_file(manifest: Manifest):
    """A temporary file holding the PDF, drawn page by page (nothing kept per row)."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    handle = tempfile.TemporaryFile()
    width, height = landscape(A4)
    canvas = Canvas(handle, pagesize=(width, height))
    margin = 10 * mm
    widths = list(manifest.widths) + ([6] if manifest.signature else [])
    header = list(manifest.header) + ([_("Signature")] if manifest.signature else [])
    scale = (width - 2 * margin) / sum(widths)
    columns = [w * scale for w in widths]
    row_height = 9 * mm if manifest.signature else 5.5 * mm
    page = 0

    def new_page() -> float:
        nonlocal page
        if page:
            canvas.showPage()
        page += 1
        canvas.setFont("Helvetica-Bold", 11)
        canvas.drawString(margin, height - margin, manifest.title)
        canvas.setFont("Helvetica", 7)
        canvas.drawRightString(width - margin, height - margin, str(page))
        y = height - margin - 8 * mm
        canvas.setFont("Helvetica-Bold", 7)
        x = margin
        for title, w in zip(header, columns, strict=True):
            canvas.drawString(x + 1, y, _fit(canvas, str(title), w - 2, "Helvetica-Bold"))
            x += w
        canvas.setFont("Helvetica", 7)
        return y - row_height

    y = new_page()
    for row in manifest.rows:
        if y < margin:
            y = new_page()
        x = margin
        # PDF cells are drawn text, never evaluated: the quote is kept only for the files a
        # spreadsheet opens; here the literal value shows.
        for value, w in zip(row, columns, strict=False):
            canvas.drawString(x + 1, y + 1.5 * mm, _fit(canvas, str(value), w - 2, "Helvetica"))
            x += w
        if manifest.signature:
            canvas.rect(x + 1, y + 0.5 * mm, columns[-1] - 2, row_height - 1.5 * mm)
        canvas.line(margin, y, width - margin, y)
        y -= row_height
    canvas.save()
    handle.seek(0)
    return handle


def _fit(canvas, text: str, width: float, font: str) -> str:
    if canvas.stringWidth(text, font, 7) <= width:
        return text
    while text and canvas.stringWidth(text + "…", font, 7) > width:
        text = text[:-1]
    return text + "…"


def plan_baskets_total(*, plan: RoutePlan) -> int:
    return Route.objects.filter(plan=plan).aggregate(n=Sum("load"))["n"] or 0


def manifest_response(manifest: Manifest, *, name: str, fmt: str):
    """The download of a manifest: CSV streamed, XLSX and PDF from their temporary files."""
    from django.http import FileResponse, StreamingHttpResponse

    if fmt == "csv":
        response = StreamingHttpResponse(
            csv_stream(manifest), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    if fmt == "xlsx":
        return FileResponse(
            xlsx_file(manifest),
            as_attachment=True,
            filename=f"{name}.xlsx",
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    return FileResponse(
        pdf_file(manifest),
        as_attachment=True,
        filename=f"{name}.pdf",
        content_type="application/pdf",
    )


__all__ = [
    "FORMATS",
    "KINDS",
    "cell_safe",
    "csv_stream",
    "manifest_build",
    "manifest_response",
    "pdf_file",
    "xlsx_file",
]
