"""The async DuckDB core: driver, engine, settings, transactions, extensions."""
