"""`python -m nas` is the `spinenas` command."""

from nas.cli import main

raise SystemExit(main())
