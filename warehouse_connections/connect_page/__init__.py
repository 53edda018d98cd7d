"""The connect page's static files (served at /connect/ by warehouse_connections/web/connect_page.py)."""
