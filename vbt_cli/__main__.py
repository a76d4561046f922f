import sys

from vbt_cli.main import main

sys.exit(main())
