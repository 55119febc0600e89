"""A SoundFont written from scratch for the tests: one preset per program asked for, each playing
one looped sine wave (SF2 2.01 layout, as the specification gives it)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np


def _chunk(name: bytes, body: bytes, pad: bool = True) -> bytes:
    odd = b"\0" if pad and len(body) % 2 else b""
    return name + struct.pack("<I", len(body)) + body + odd


def _list(kind: bytes, chunks: list[bytes]) -> bytes:
    return _chunk(b"LIST", kind + b"".join(chunks))


def write_sine_soundfont(
    path: Path,
    programs: tuple[int, ...] = (0,),
    odd_sample_pad: bool | None = None,
    *,
    drums: bool = False,
    silent: tuple[int, ...] = (),
    attack_s: float = 0.0,
) -> Path:
    """An SF2 with a preset for each of `programs` (bank 0), all the same 441 Hz sine but those
    in `silent`, which play a sample of zeros; with `drums`, a kit (bank 128) of the sine too.

    With `odd_sample_pad` set, the sample chunk gets an odd length (a trailing byte), padded as
    RIFF asks (True) or not (False, as MuseScore's SF3 writer leaves it). A positive
    `attack_s` gives the sine that volume-envelope attack (a slow instrument's swell)."""
    rate, period = 44100, 100  # 441 Hz: a whole number of samples per cycle
    wave = (np.sin(2 * np.pi * np.arange(period * 20) / period) * 12000).astype("<i2")
    frames, gap = len(wave), 46  # 46 zero samples after each sample, as SF2 requires
    samples = wave.tobytes() + b"\0" * (2 * gap) + np.zeros(frames, "<i2").tobytes()
    samples += b"\0" * (2 * gap)
    if odd_sample_pad is not None:
        samples += b"\0"
    info = _list(b"INFO", [_chunk(b"ifil", struct.pack("<HH", 2, 1)),
                           _chunk(b"INAM", b"tiny sine\0\0\0")])  # fmt: skip
    sdta = _list(b"sdta", [_chunk(b"smpl", samples, pad=odd_sample_pad is not False)])
    presets = [(p, 0, 1 if p in silent else 0) for p in programs]
    if drums:
        presets.append((0, 128, 0))
    count = len(presets)
    phdr = b"".join(
        struct.pack("<20sHHHIII", f"sine {p}.{b}".encode(), p, b, k, 0, 0, 0)
        for k, (p, b, _) in enumerate(presets)
    ) + struct.pack("<20sHHHIII", b"EOP", 0, 0, count, 0, 0, 0)
    pbag = b"".join(struct.pack("<HH", k, 0) for k in range(count + 1))
    pmod = b"\0" * 10
    pgen = b"".join(struct.pack("<HH", 41, i) for _, _, i in presets) + b"\0" * 4  # instrument
    inst = (struct.pack("<20sH", b"sine", 0) + struct.pack("<20sH", b"zeros", 1)
            + struct.pack("<20sH", b"EOI", 2))  # fmt: skip
    attack = (struct.pack("<Hh", 34, round(1200 * np.log2(attack_s)))  # attackVolEnv, timecents
              if attack_s > 0 else b"")  # fmt: skip
    sine_gens = 2 + len(attack) // 4
    ibag = (struct.pack("<HH", 0, 0) + struct.pack("<HH", sine_gens, 0)
            + struct.pack("<HH", sine_gens + 2, 0))  # fmt: skip
    imod = b"\0" * 10
    igen = (attack + struct.pack("<HH", 54, 1) + struct.pack("<HH", 53, 0)  # looped; sample 0
            + struct.pack("<HH", 54, 1) + struct.pack("<HH", 53, 1) + b"\0" * 4)  # fmt: skip
    second = frames + gap
    shdr = struct.pack("<20sIIIIIBbHH", b"sine", 0, frames, 0, frames, rate, 69, 0, 0, 1)
    shdr += struct.pack("<20sIIIIIBbHH", b"zeros", second, second + frames, second,
                        second + frames, rate, 69, 0, 0, 1)  # fmt: skip
    shdr += struct.pack("<20sIIIIIBbHH", b"EOS", 0, 0, 0, 0, 0, 0, 0, 0, 0)
    pdta = _list(b"pdta", [_chunk(b"phdr", phdr), _chunk(b"pbag", pbag), _chunk(b"pmod", pmod),
                           _chunk(b"pgen", pgen), _chunk(b"inst", inst), _chunk(b"ibag", ibag),
                           _chunk(b"imod", imod), _chunk(b"igen", igen),
                           _chunk(b"shdr", shdr)])  # fmt: skip
    body = b"sfbk" + info + sdta + pdta
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path
