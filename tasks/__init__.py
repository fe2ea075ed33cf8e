"""Thin Prefect tasks: each calls one engine function and passes only ids, paths and summaries."""
