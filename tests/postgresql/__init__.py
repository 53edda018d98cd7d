"""A throwaway PostgreSQL cluster that checks passwords (cluster.py) and its pytest fixture (fixtures.py)."""
