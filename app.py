"""The web server, as the original project started it: `python app.py` (127.0.0.1:7860), or
`python -m uvicorn app:app --host … --port …`. The same as `audio-creator serve`.

Settings come from the environment (see `audio_creator.web.api.settings_from_env`); a server
reachable from other machines answers only with AUDIO_CREATOR_TOKEN set.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))  # run from a checkout, too

from audio_creator.web.api import create_app, settings_from_env

app = create_app(settings_from_env())

if __name__ == "__main__":
    from audio_creator import cli

    sys.exit(cli.main(["serve", *sys.argv[1:]]))
