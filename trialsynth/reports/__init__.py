"""Reports: a page per trial (with a public variant and a data card) and an archive dashboard.

Everything a report shows of the real data is an aggregate computed on the secure side
(``aggregates.py``) under the released outputs' small-cell rule; the pages are rendered with
jinja2 and plotly, with plotly's JavaScript inlined so that they open offline.
"""
