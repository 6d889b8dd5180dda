import sys

from dspic_lib.cli import main

sys.exit(main())
