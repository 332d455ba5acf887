from robocoord.batch.cli import main

raise SystemExit(main())
