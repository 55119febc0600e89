"""The project's own example video: synthetic, deterministic, with known cuts, a fade and motion.

`make_demo_video` draws every frame with NumPy from a fixed seed, so the same call makes the same
pictures on every machine. `DEMO_SCENES` says what is where, which makes the video a test fixture
with known answers for cut detection and motion analysis.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from audio_creator.errors import ConfigError
from audio_creator.files import atomic_output, check_output_path

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class DemoScene:
    """One shot of the demo video."""

    name: str
    start_s: float
    end_s: float
    motion: str  # "slow" or "fast": how quickly the content moves
    transition_in: str  # how the shot begins: "start", "cut"
    transition_out: str  # how it ends: "cut", "fade" (to black over its last second), "end"


DEMO_SCENES = (
    DemoScene("dawn", 0.0, 4.0, "slow", "start", "cut"),
    DemoScene("traffic", 4.0, 8.0, "fast", "cut", "cut"),
    DemoScene("meadow", 8.0, 12.0, "slow", "cut", "fade"),
    DemoScene("beach", 12.0, 16.0, "slow", "cut", "cut"),
    DemoScene("party", 16.0, 20.0, "fast", "cut", "end"),
)
DEMO_CUTS_S = tuple(s.start_s for s in DEMO_SCENES if s.transition_in == "cut")
FADE_S = 1.0


def make_demo_video(
    path: str | os.PathLike[str],
    *,
    width: int = 1280,
    height: int = 720,
    fps: int = 30,
    with_audio: bool = True,
    seed: int = 7,
) -> Path:
    """Write the demo video (H.264 in the container of `path`'s suffix, AAC room tone).

    Args:
        path: output file (.mp4, .mov, .mkv); written atomically.
        width, height: frame size; even numbers.
        fps: frames per second.
        with_audio: add a quiet synthetic soundtrack (room tone, a different hum per scene).
        seed: seeds the film grain and the shapes; the same seed gives the same video.
    """
    if width < 16 or height < 16 or width % 2 or height % 2:
        raise ConfigError(f"demo video size must be even and at least 16×16, got {width}×{height}")
    if fps <= 0:
        raise ConfigError(f"frame rate must be positive, got {fps}")
    out = check_output_path(path)
    painter = _Painter(width, height, seed)
    duration_s = DEMO_SCENES[-1].end_s
    with atomic_output(out) as tmp, av.open(str(tmp), "w") as container:
        video = container.add_stream(
            "libx264",
            rate=Fraction(fps),
            options={"crf": "20", "preset": "veryfast", "g": str(2 * fps)},
        )
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        container.metadata["title"] = "Audio Creator demo video"
        audio_stream = (
            container.add_stream("aac", rate=48000, layout="stereo") if with_audio else None
        )
        for index in range(round(duration_s * fps)):
            frame = av.VideoFrame.from_ndarray(painter.frame(index / fps), format="rgb24")
            frame.pts = index
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if audio_stream is not None:
            samples = _room_tone(duration_s, 48000, seed)
            for offset in range(0, samples.shape[1], 4800):
                chunk = np.ascontiguousarray(samples[:, offset : offset + 4800])
                aframe = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
                aframe.sample_rate, aframe.pts = 48000, offset
                container.mux(audio_stream.encode(aframe))
            container.mux(audio_stream.encode(None))
    return out


class _Painter:
    """Draws the frame at a given time. Backgrounds are computed once per scene."""

    def __init__(self, width: int, height: int, seed: int) -> None:
        self.w, self.h = width, height
        rng = np.random.default_rng(seed)
        self.shapes = rng.uniform(0, 1, size=(8, 4))  # per-shape phase, lane, size, colour
        x = np.linspace(0, 1, width, dtype=np.float32)[None, :, None]
        y = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
        plain = {
            "dawn": _mix((40, 70, 160), (250, 160, 90), y),
            "traffic": _mix((40, 40, 48), (70, 70, 80), y),
            "meadow": _mix((120, 190, 240), (40, 140, 50), np.clip(2 * y - 0.4, 0, 1)),
            "beach": _mix((30, 110, 190), (230, 210, 160), (y > 0.55).astype(np.float32)),
            "party": _mix((60, 0, 90), (200, 40, 120), x),
        }
        self.draw = {
            "dawn": self._draw_dawn,
            "traffic": self._draw_traffic,
            "meadow": self._draw_meadow,
            "beach": self._draw_beach,
            "party": self._draw_party,
        }
        grain = rng.integers(-6, 7, size=(height, width, 1), dtype=np.int16)
        self.backgrounds: dict[str, Image] = {  # grain baked in once: frames only copy and draw
            name: np.asarray(np.clip(bg.astype(np.int16) + grain, 0, 255), dtype=np.uint8)
            for name, bg in plain.items()
        }

    def frame(self, t: float) -> Image:
        scene = next(s for s in DEMO_SCENES if t < s.end_s or s is DEMO_SCENES[-1])
        local = t - scene.start_s
        img: Image = self.backgrounds[scene.name].copy()
        self.draw[scene.name](img, local)
        if scene.transition_out == "fade" and scene.end_s - t < FADE_S:
            img = np.asarray(img * ((scene.end_s - t) / FADE_S), dtype=np.uint8)
        return img

    def _disc(self, img: Image, cx: float, cy: float, r: float, rgb: tuple[int, ...]) -> None:
        x0, x1 = max(0, int(cx - r)), min(self.w, int(cx + r) + 1)
        y0, y1 = max(0, int(cy - r)), min(self.h, int(cy + r) + 1)
        if x0 >= x1 or y0 >= y1:
            return
        yy, xx = np.ogrid[y0:y1, x0:x1]
        inside = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
        img[y0:y1, x0:x1][inside] = rgb

    def _draw_dawn(self, img: Image, t: float) -> None:
        # The sun drifts right and rises: about 3 % of the width per second.
        self._disc(
            img,
            self.w * (0.3 + 0.03 * t),
            self.h * (0.55 - 0.02 * t),
            self.h * 0.1,
            (255, 230, 150),
        )

    def _draw_traffic(self, img: Image, t: float) -> None:
        # Cars race across in lanes, a full frame width in about a second.
        for phase, lane, size, hue in self.shapes[:6]:
            speed = self.w * (0.8 + 0.6 * size)
            x = (phase * self.w + speed * t) % (self.w * 1.3) - self.w * 0.15
            y = self.h * (0.15 + 0.7 * lane)
            car_w, car_h = int(self.w * 0.12), int(self.h * 0.08)
            x0, y0 = int(x), int(y)
            img[max(0, y0) : max(0, y0 + car_h), max(0, x0) : max(0, x0 + car_w)] = _hue(hue)

    def _draw_meadow(self, img: Image, t: float) -> None:
        # Grass stalks pan slowly left.
        stalk = max(2, self.w // 160)
        for k in range(24):
            x = int((k * self.w / 24 - 20 * t * self.w / 1280) % self.w)
            stalks = img[int(self.h * 0.45) :, x : x + stalk]
            stalks -= stalks // 5  # a soft shadow: 80 % brightness

    def _draw_beach(self, img: Image, t: float) -> None:
        # A wave line rolls gently up and down the shore.
        y = int(self.h * (0.55 + 0.03 * np.sin(2 * np.pi * 0.4 * t)))
        img[y : y + max(2, self.h // 60), :] = (245, 245, 250)

    def _draw_party(self, img: Image, t: float) -> None:
        # Lights bounce fast around the frame.
        for phase, lane, size, hue in self.shapes:
            cx = self.w * abs(((phase + 0.9 * t * (0.5 + size)) % 2) - 1)
            cy = self.h * abs(((lane + 1.1 * t * (0.5 + hue)) % 2) - 1)
            self._disc(img, cx, cy, self.h * (0.04 + 0.05 * size), _hue(hue))


def _mix(
    top: tuple[int, int, int], bottom: tuple[int, int, int], weight: npt.NDArray[np.float32]
) -> Image:
    a, b = np.asarray(top, np.float32), np.asarray(bottom, np.float32)
    return np.asarray(a + (b - a) * weight, dtype=np.uint8)


def _hue(h: float) -> tuple[int, int, int]:
    angles = 2 * np.pi * (h + np.array([0.0, 1 / 3, 2 / 3]))
    rgb = 128 + 110 * np.cos(angles)
    return int(rgb[0]), int(rgb[1]), int(rgb[2])


def _room_tone(duration_s: float, rate: int, seed: int) -> npt.NDArray[np.float32]:
    """Quiet noise plus a soft hum whose pitch changes with each scene, stereo."""
    rng = np.random.default_rng(seed + 1)
    t = np.arange(round(duration_s * rate)) / rate
    hum = np.zeros_like(t)
    for k, scene in enumerate(DEMO_SCENES):
        inside = (t >= scene.start_s) & (t < scene.end_s)
        hum[inside] = 0.05 * np.sin(2 * np.pi * 110 * 2 ** (k / 4) * t[inside])
    noise = 0.01 * rng.standard_normal((2, t.size))
    return (hum[None, :] + noise).astype(np.float32)
