"""The `warehouse-connections` command's entry point: the CLI is loaded with the garbage collector paused.

Loading it imports about 900 modules, whose objects live as long as the process: collecting while they
load frees nothing and took ~10 % of the time from process start to the first answer.
"""

import gc


def main() -> int:
    gc.disable()
    try:
        from warehouse_connections.cli import main as run
    finally:
        gc.enable()
    return run()
