"""The self-check suite that ``project-architect-db test`` runs against the user's installation.

These are ordinary pytest tests shipped inside the package, so an application can prove that the
library, DuckDB and the offline fts extension work on its own machine and Python: storage on a
real file and in memory, migrations, integrity and cascades, optimistic locking, transactions,
read-only and locked files, cancellation, full-text search, analytics and bulk Arrow writes.

They need only pytest (``pip install 'project-architect-db[testing]'``) and run each coroutine
with :func:`project_architect_db.run`, so they need no pytest plugin of their own.
"""
