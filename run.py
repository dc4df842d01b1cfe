"""Start Ollama WebChat: `python run.py`, then open the URL it prints.

The same command as the installed `ollama-webchat` script (webchat/serve/command.py)."""

import sys

from webchat.serve.command import main

if __name__ == "__main__":
    sys.exit(main())
