from mlplat.cli import main

raise SystemExit(main())
