"""Query building blocks: filters, sorting and cursors, native compilation."""
