"""`python -m extractor` runs the command line."""

from extractor.cli import main

raise SystemExit(main())
