"""``lanco-hf`` console entry point (``python -m lanco_hf.cli`` works too); the commands live in
``lanco_hf.commands``."""

from .commands import main

if __name__ == "__main__":
    main()
