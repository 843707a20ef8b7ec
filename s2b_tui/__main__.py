from s2b_tui.cli import main

raise SystemExit(main())
