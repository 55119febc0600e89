"""Test media made on the spot, and the ffmpeg binary used as an independent reference.

Media are encoded by the ffmpeg command line from its own test sources (lavfi), not by the code
under test, so a bug in our writer cannot hide a bug in our reader.
"""

from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt


@cache
def ffmpeg() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def run_ffmpeg(*args: str) -> bytes:
    """Run ffmpeg quietly; return its stdout; fail the test with its stderr on error."""
    proc = subprocess.run(
        [ffmpeg(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args],
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"ffmpeg {' '.join(args)} failed:\n{proc.stderr.decode()}")
    return proc.stdout


def make_video(
    path: Path,
    *,
    video_codec: str = "libx264",
    audio_codec: str | None = "aac",
    duration_s: float = 2.0,
    fps: int = 25,
    size: str = "320x240",
    extra: tuple[str, ...] = (),
    source: str = "testsrc2",
) -> Path:
    """Encode a test pattern (and a 440 Hz tone when `audio_codec` is set) with ffmpeg."""
    args = ["-f", "lavfi", "-i", f"{source}=size={size}:rate={fps}:duration={duration_s}"]
    if audio_codec:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={duration_s}"]
    args += ["-c:v", video_codec, "-pix_fmt", "yuv420p"]
    args += ["-c:a", audio_codec] if audio_codec else []
    run_ffmpeg(*args, *extra, str(path))
    return path


def packet_hashes(path: Path, stream: str = "v:0") -> list[str]:
    """MD5 of every packet of one stream, as ffmpeg's framemd5 muxer reports them (no decoding)."""
    out = run_ffmpeg("-i", str(path), "-map", f"0:{stream}", "-c", "copy", "-f", "framemd5", "-")
    lines = [line for line in out.decode().splitlines() if line and not line.startswith("#")]
    return [line.rsplit(",", 1)[1].strip() for line in lines]


def decode_audio_with_ffmpeg(path: Path, rate: int = 48000) -> npt.NDArray[np.float32]:
    """The first audio stream decoded by ffmpeg to float32 [channels, frames] at `rate`."""
    raw = run_ffmpeg(
        "-i", str(path), "-map", "0:a:0", "-ac", "2", "-ar", str(rate), "-f", "f32le", "-"
    )
    return np.frombuffer(raw, dtype="<f4").reshape(-1, 2).T.copy()


def sine(
    freq_hz: float, rate: int, duration_s: float, amplitude: float = 0.5
) -> npt.NDArray[np.float32]:
    t = np.arange(round(rate * duration_s)) / rate
    return (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def peak_frequency_hz(signal: npt.NDArray[np.floating], rate: int) -> float:
    """Frequency of the strongest spectral peak, refined by parabolic interpolation."""
    window = np.hanning(signal.size)
    mags = np.abs(np.fft.rfft(signal * window))
    k = int(np.argmax(mags[1:])) + 1
    a, b, c = np.log(mags[k - 1 : k + 2] + 1e-30)
    offset = 0.5 * (a - c) / (a - 2 * b + c)
    return float((k + offset) * rate / signal.size)


def ffmpeg_loudness(path: Path) -> dict[str, float]:
    """Integrated loudness (I), loudness range (LRA) and true peak (TP, dBTP) by FFmpeg's
    ebur128 filter, read at full precision from its frame metadata (the last frame's values)."""
    import math
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        meta = Path(folder) / "meta.txt"
        run_ffmpeg(
            "-nostats",
            "-i",
            str(path),
            "-af",
            f"ebur128=metadata=1:peak=true,ametadata=mode=print:file={meta}",
            "-f",
            "null",
            "-",
        )
        values: dict[str, str] = {}
        for line in meta.read_text().splitlines():
            key, _, value = line.partition("=")
            values[key] = value
    peak = float(values["lavfi.r128.true_peak"])
    return {
        "I": float(values["lavfi.r128.I"]),
        "LRA": float(values["lavfi.r128.LRA"]),
        "TP": 20 * math.log10(peak) if peak > 0 else -math.inf,
    }


def speech_like(
    rate: int, sentences: list[tuple[float, float]], *, level: float = 0.1, seed: int = 0
) -> npt.NDArray[np.float32]:
    """A speech stand-in: 250 ms 'words' of band-limited noise (300 Hz–3 kHz) with 100 ms gaps,
    filling each (start_s, end_s) sentence; silence elsewhere. Mono."""
    from scipy.signal import butter, sosfilt

    total = max(end for _, end in sentences) + 1.0
    rng = np.random.default_rng(seed)
    noise = sosfilt(
        butter(4, [300, 3000], "bandpass", fs=rate, output="sos"),
        rng.standard_normal(round(total * rate)),
    )
    gate = np.zeros(noise.size)
    for start, end in sentences:
        word = start
        while word < end:
            stop = min(word + 0.25, end)
            gate[round(word * rate) : round(stop * rate)] = 1.0
            word = stop + 0.1
    out = level * noise * gate / np.sqrt(np.mean(noise**2))
    return out.astype(np.float32)


def tone_envelope_db(
    signal: npt.NDArray[np.floating], rate: int, freq: float, window_s: float = 0.01
) -> npt.NDArray[np.float64]:
    """Level in dB of one sine component over time (lock-in: demodulate, average per window)."""
    t = np.arange(signal.size) / rate
    baseband = signal * np.exp(-2j * np.pi * freq * t)
    hop = round(window_s * rate)
    count = signal.size // hop
    amplitude = 2 * np.abs(baseband[: count * hop].reshape(count, hop).mean(axis=1))
    return 20 * np.log10(amplitude + 1e-12)


def children(pid: int) -> set[int]:
    """The processes whose parent is `pid` (Linux: read from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


WEB_TOKEN = "web-token-for-tests"


def start_web_server(
    port: int, data_dir: Path, *args: str, token: str | None = WEB_TOKEN, **env: str
) -> tuple[Any, Any]:
    """`audio-creator serve ARGS` in a process of its own, answering; the process and an httpx
    client for it that sends the server's token (None: the server runs with --insecure)."""
    import os
    import sys
    import time

    import httpx

    command = [sys.executable, "-m", "audio_creator.cli", "serve", "--port", str(port), *args]
    environment = {**os.environ, "AUDIO_CREATOR_DATA": str(data_dir), **env}
    environment.pop("AUDIO_CREATOR_TOKEN", None)
    if token is None:
        command.append("--insecure")
    else:
        environment["AUDIO_CREATOR_TOKEN"] = token
    server = subprocess.Popen(
        command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30, headers=headers)
    deadline = time.monotonic() + 60
    while True:
        try:
            client.get("/api/health")
            return server, client
        except httpx.TransportError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise AssertionError("the web server did not start") from None
            time.sleep(0.2)


PAIR_SOURCES = (("a", "testsrc2", 220), ("b", "smptebars", 330), ("c", "rgbtestsrc", 440),
                ("d", "testsrc", 660))  # fmt: skip


def make_pairs(
    folder: Path, count: int = 3, *, seconds: float = 2.0, size: str = "64x48", rate: int = 32000
) -> list[tuple[Path, Path]]:
    """`count` video–soundtrack pairs (up to 4): NAME.mp4, a test pattern without sound, beside
    NAME.wav, a tone of its own pitch."""
    pairs = []
    for name, source, hz in PAIR_SOURCES[:count]:
        video, audio = folder / f"{name}.mp4", folder / f"{name}.wav"
        make_video(video, audio_codec=None, duration_s=seconds, source=source, size=size)
        run_ffmpeg("-f", "lavfi", "-i", f"sine=frequency={hz}:sample_rate={rate}:"
                   f"duration={seconds}", str(audio))  # fmt: skip
        pairs.append((video, audio))
    return pairs


# Real edits the shot generator does not make: a hard cut inside a gradual transition. Each is
# (ffmpeg lavfi inputs, filter graph, where the hard cuts are); the pictures are ffmpeg's test
# patterns (A: testsrc2, B: SMPTE bars, C: a Mandelbrot zoom), 320×180 at 25 fps.
_A, _B, _C = "testsrc2=s=320x180:r=25", "smptehdbars=s=320x180:r=25", "mandelbrot=s=320x180:r=25"
CUTS_IN_TRANSITIONS: dict[str, tuple[tuple[str, ...], str, tuple[float, ...]]] = {
    # A dissolves into B from 4 s; half-way through, a cut to C.
    "a dissolve cut short": (
        (f"{_A}:d=8", f"{_B}:d=8", _C),
        "[0][1]xfade=transition=fade:duration=2:offset=4,trim=0:5,setpts=PTS-STARTPTS[x];"
        "[2]trim=0:5,setpts=PTS-STARTPTS,format=yuv420p[c];[x][c]concat=n=2:v=1[v]",
        (5.0,),
    ),
    # A dissolves into B from 4 s to 6 s, and the outgoing shot cuts from A to C at 5 s.
    "a cut in the outgoing shot of a dissolve": (
        (f"{_A}:d=5", _C, f"{_B}:d=8"),
        "[1]trim=0:3,setpts=PTS-STARTPTS,format=yuv420p[c];[0]format=yuv420p[a];"
        "[a][c]concat=n=2:v=1,settb=1/25,fps=25[ac];[2]format=yuv420p,settb=1/25[b];"
        "[ac][b]xfade=transition=fade:duration=2:offset=4[v]",
        (5.0,),
    ),
    # A fades out to black (2–3 s); after 0.6 s of black, B fades in over 2 s and, half-way up,
    # cuts to C, which finishes the fade.
    "a cut half-way through a fade-in": (
        (f"{_A}:d=3", _C, f"{_B}:d=1", "color=c=black:s=320x180:r=25:d=0.6"),
        "[0]format=yuv420p,fade=out:st=2:d=1[a];[3]format=yuv420p[k];"
        "[1]trim=0:5,setpts=PTS-STARTPTS,format=yuv420p[c];[2]format=yuv420p[b];"
        "[b][c]concat=n=2:v=1,fade=in:st=0:d=2[bc];[a][k][bc]concat=n=3:v=1[v]",
        (4.6,),
    ),
    # A starts fading out at 3 s and cuts to C at 3.52 s, which finishes the fade; B cuts in
    # out of black at 5.04 s.
    "a cut a quarter of the way through a fade-out": (
        (f"{_A}:d=3.5", _C, f"{_B}:d=4"),
        "[0]format=yuv420p[a];[1]trim=0:1.5,setpts=PTS-STARTPTS,format=yuv420p[c];"
        "[a][c]concat=n=2:v=1,fade=out:st=3:d=2[ac];[2]format=yuv420p[b];[ac][b]concat=n=2:v=1[v]",
        (3.52, 5.04),
    ),
}


def lavfi_inputs(*sources: str) -> list[str]:
    """ffmpeg's arguments that open each of its generated sources ("testsrc2=…") as an input."""
    return [arg for source in sources for arg in ("-f", "lavfi", "-i", source)]


def make_cut_in_transition(path: Path, shape: str) -> tuple[float, ...]:
    """Write the video of one of CUTS_IN_TRANSITIONS to `path`; return its hard cuts."""
    inputs, graph, cuts = CUTS_IN_TRANSITIONS[shape]
    run_ffmpeg(*lavfi_inputs(*inputs), "-filter_complex", graph, "-map", "[v]", "-c:v", "libx264",
               "-pix_fmt", "yuv420p", str(path))  # fmt: skip
    return cuts
