"""What a mix is made of and how: `Track` (an input placed on the timeline) and `MixOptions`."""

from __future__ import annotations

from dataclasses import dataclass, field

from audio_creator.audio import Audio
from audio_creator.audio_source import AudioFile, StoredClip
from audio_creator.errors import ConfigError, require_finite
from audio_creator.mix import ducking

MAX_PROGRAMME_S = 4 * 3600.0  # a mix is at most this long (as music and analysis are)


def check_length(seconds: float, what: str) -> None:
    """Refuse a programme (or a place in it) past `MAX_PROGRAMME_S`, before any work."""
    if seconds > MAX_PROGRAMME_S:
        raise ConfigError(
            f"{what} is {seconds:g} s: a mix can be at most {MAX_PROGRAMME_S / 3600:g} hours long"
        )


@dataclass(frozen=True)
class Track:
    """One input of the mix, placed on the programme's timeline."""

    audio: Audio | AudioFile | StoredClip
    offset_s: float = 0.0  # where it starts in the programme
    gain: float = 1.0  # linear volume

    def __post_init__(self) -> None:
        require_finite(track_offset=self.offset_s, track_gain=self.gain)
        if self.offset_s < 0 or self.gain < 0:
            raise ConfigError("a track's offset and gain must be ≥ 0")
        check_length(self.offset_s, "a track's start")


@dataclass(frozen=True)
class MixOptions:
    """How to mix. Every field has a broadcast-minded default; invalid values are refused."""

    target_lufs: float = -16.0  # integrated loudness of the output
    true_peak_dbtp: float = -1.0  # ceiling for the output's true peak
    sample_rate: int = 48000
    channels: int = 2
    music_volume: float = 1.0  # linear, applied to every music track
    speech_volume: float = 1.0  # linear, applied to every speech track
    ducking: ducking.DuckingOptions = field(default_factory=ducking.DuckingOptions)
    speech_over_music_lu: float = 10.0  # music at least this far under the speech, before ducking
    music_fit: str = "loop"  # loop | pad | trim, see fit.fit_to_length
    crossfade_s: float = 2.0  # between loop repeats
    fade_in_s: float = 1.0  # music fade-in
    fade_out_s: float = 2.0  # music fade-out at the end of the programme
    duration_s: float | None = None  # programme length; default: the speech's, else the music's

    def __post_init__(self) -> None:
        require_finite(
            target_lufs=self.target_lufs,
            true_peak=self.true_peak_dbtp,
            music_volume=self.music_volume,
            speech_volume=self.speech_volume,
            speech_over_music=self.speech_over_music_lu,
            crossfade=self.crossfade_s,
            fade_in=self.fade_in_s,
            fade_out=self.fade_out_s,
            duration=self.duration_s,
        )
        if self.true_peak_dbtp < -60.0:
            raise ConfigError(f"true-peak ceiling must be ≥ −60 dBTP, got {self.true_peak_dbtp}")
        if min(self.crossfade_s, self.fade_in_s, self.fade_out_s) < 0:
            raise ConfigError("crossfade and fade times must be ≥ 0 s")
        if not -70.0 <= self.target_lufs <= -5.0:
            raise ConfigError(f"target loudness must be within −70…−5 LUFS, got {self.target_lufs}")
        if self.true_peak_dbtp > 0.0:
            raise ConfigError(f"true-peak ceiling must be ≤ 0 dBTP, got {self.true_peak_dbtp}")
        if self.channels not in (1, 2):
            raise ConfigError(f"output must be mono or stereo, got {self.channels} channels")
        if not 8000 <= self.sample_rate <= 384000:
            raise ConfigError(f"output sample rate must be 8–384 kHz, got {self.sample_rate}")
        if self.music_volume < 0 or self.speech_volume < 0:
            raise ConfigError("volumes must be ≥ 0")
        if self.duration_s is not None and self.duration_s <= 0:
            raise ConfigError(f"duration must be positive, got {self.duration_s}")
        if self.duration_s is not None:
            check_length(self.duration_s, "the duration")
