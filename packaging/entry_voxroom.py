"""PyInstaller's entry script for ``voxroom`` (the package's own ``__main__`` uses relative imports)."""

import sys

from client_desktop.app import main

if __name__ == "__main__":
    sys.exit(main())
