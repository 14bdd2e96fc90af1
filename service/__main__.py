"""``python -m service`` is ``chat-import``."""

from service.cli import main

main()
