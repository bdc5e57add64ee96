"""Print the project's dependencies (and the dev extra) from pyproject.toml, one a line.

The shared virtual environment gets the dependencies only; the code is put on the path
of each checkout (PYTHONPATH), so two clones never import each other's files.
"""

import sys
import tomllib
from pathlib import Path

project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["project"]
extras = sys.argv[1:] or ["dev"]
print("\n".join(project["dependencies"] + [d for e in extras for d in
                                            project["optional-dependencies"][e]]))
