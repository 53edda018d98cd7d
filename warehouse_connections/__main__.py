import sys

from warehouse_connections.launch import main

sys.exit(main())
