"""Differential privacy: where the noise comes from (``noise``), the public domain a private
method works on (``domain``) and the budget arithmetic and the stored statement (``accounting``).

The neighbouring relation everywhere is **replace-one with the row count public**: two datasets
are neighbours when they have the same number of rows and differ in one row (one pupil's record
replaced by any other record). A trial's pupil count is published in its report (the CONSORT
flow), and the synthetic file has exactly that many rows.
"""
