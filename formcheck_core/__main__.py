import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while Python is still loading the command
    print("formcheck: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
