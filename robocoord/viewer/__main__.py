from robocoord.viewer.cli import main

raise SystemExit(main())
