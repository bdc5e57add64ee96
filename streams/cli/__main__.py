"""``python -m streams.cli``: the same as the ``inferwatch`` console script."""

import sys

from streams.cli.main import main

if __name__ == "__main__":
    sys.exit(main())  # the exit status is the command's, as the console script's
