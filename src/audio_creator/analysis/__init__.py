"""What the music follows in a video: shot boundaries, motion, light and colour, energy."""

from audio_creator.analysis.cuts import Transition
from audio_creator.analysis.video import CURVE_RATE_HZ, VideoAnalysis, analyse_video

__all__ = ["CURVE_RATE_HZ", "Transition", "VideoAnalysis", "analyse_video"]
