import sys

from warehouse_connections.cli import main

sys.exit(main())
