"""Alembic revisions of the library's schema, one file per revision (``YYYYMMDD_NNNN_slug.py``).

A package only so the files ship in the wheel; Alembic loads them by path, not by import.
"""
