"""The periodic reports (月研判 / 季会商 / 年总结): built from the records database (builders,
sections, queries), written as HTML, Excel and JSON (html, excel, model), and produced and
recorded once per kind, period and unit (produce)."""
