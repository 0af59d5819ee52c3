"""The purchase-level work: the customer-day table (DuckDB) and its push-down to databases."""
