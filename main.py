"""`python main.py --mode MODE …`: the original project's command line, kept working.

A thin shim: the flags are translated to `audio-creator MODE …` (see audio_creator/compat.py).
"""

import sys

from audio_creator.compat import main

if __name__ == "__main__":
    sys.exit(main())
