"""PyInstaller's entry script for ``voxroom-server``."""

import sys

from signaling_server.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
