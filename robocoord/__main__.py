from robocoord.cli import main

raise SystemExit(main())
