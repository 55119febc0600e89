"""Video files in and out: probe, frame sampling for analysis, muxing, the demo video."""

from audio_creator.media.demo import DEMO_CUTS_S, DEMO_SCENES, DemoScene, make_demo_video
from audio_creator.media.frames import Frame, iter_every_frame, iter_frames
from audio_creator.media.mux import CONTAINERS, MuxResult, mux, soundtrack_source
from audio_creator.media.probe import VideoInfo, probe

__all__ = [
    "CONTAINERS",
    "DEMO_CUTS_S",
    "DEMO_SCENES",
    "DemoScene",
    "Frame",
    "MuxResult",
    "VideoInfo",
    "iter_every_frame",
    "iter_frames",
    "make_demo_video",
    "mux",
    "probe",
    "soundtrack_source",
]
