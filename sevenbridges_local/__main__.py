"""``python -m sevenbridges_local serve|token|users ...``"""

import sys

from sevenbridges_local.cli import main

sys.exit(main())
