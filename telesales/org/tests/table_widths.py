"""Browser-test helpers for list tables (Playwright ``page``): a column squeezed so narrow that
Chinese text stands one character per line, and a table running past its box.

Shared by the list pages' browser tests of org and the apps above it (operations, tickets,
policies): this module imports nothing from them."""

from __future__ import annotations

# A cell is too narrow when its content box is narrower than the first two characters of its
# own text in its own font (a one-character cell, a "—" or the number "7", is never flagged).
_NARROW_CELLS = """(selector) => {
  const ctx = document.createElement("canvas").getContext("2d");
  const out = [];
  document.querySelectorAll(selector).forEach((table) => {
    table.querySelectorAll("th, td").forEach((cell) => {
      const text = cell.innerText.replace(/\\s+/g, " ").trim();
      const chars = [...text];
      if (chars.length < 2) return;
      const style = getComputedStyle(cell);
      const box = cell.getBoundingClientRect().width
        - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
      ctx.font = style.font;
      const need = ctx.measureText(chars.slice(0, 2).join("")).width;
      if (box + 1 < need) {
        out.push({table: table.dataset.testid || "", text: text.slice(0, 20),
                  width: Math.round(box), needs: Math.round(need)});
      }
    });
  });
  return out;
}"""

_OVERFLOWING = """(selector) => {
  const out = [];
  document.querySelectorAll(selector).forEach((table) => {
    const box = (table.closest(".table-responsive") || table.parentElement)
      .getBoundingClientRect();
    const right = table.getBoundingClientRect().right;
    if (right > box.right + 1) {
      out.push({table: table.dataset.testid || "", right: Math.round(right),
                box: Math.round(box.right)});
    }
  });
  return out;
}"""


def narrow_cells(page, selector: str = "main table") -> list[dict]:
    """Header and body cells (``th``, ``td``) narrower than the first two characters of their
    text: ``[{table, text, width, needs}]``, empty when every column is readable."""
    return page.evaluate(_NARROW_CELLS, selector)


def overflowing_tables(page, selector: str = "main table") -> list[dict]:
    """Tables wider than their box (their ``.table-responsive`` wrapper, else their parent)."""
    return page.evaluate(_OVERFLOWING, selector)
