"""``python -m project_architect_db``: the command line."""

from project_architect_db.cli import main

main()
