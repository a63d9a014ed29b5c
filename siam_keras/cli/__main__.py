from siam_keras.cli import main

raise SystemExit(main())
