"""`python -m nas` is the `spinenas` command."""

from nas.commands.cli import main

raise SystemExit(main())
