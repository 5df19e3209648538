#!/usr/bin/env python
"""Django's command-line utility; ``telesales`` is the friendlier entry point."""

import sys

from config.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], prog="manage.py"))
