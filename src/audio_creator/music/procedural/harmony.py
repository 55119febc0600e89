"""Keys, scales and diatonic chords as MIDI note numbers."""

from __future__ import annotations

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)  # natural minor: every chord of a progression stays in the key
NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def scale(mode: str) -> tuple[int, ...]:
    """Semitone steps of the mode's scale above its tonic."""
    return MAJOR if mode == "major" else MINOR


def in_key(pitch: int, key_root: int, mode: str) -> bool:
    """True if `pitch` belongs to the key's scale."""
    return (pitch - key_root) % 12 in scale(mode)


def degree_pitch(degree: int, key_root: int, mode: str, octave: int = 4) -> int:
    """MIDI note of scale `degree` (0 = tonic, may exceed 6 or be negative) from `octave`."""
    steps = scale(mode)
    octaves, index = divmod(degree, 7)
    return 12 * (octave + 1 + octaves) + key_root + steps[index]


def triad(degree: int) -> tuple[int, int, int]:
    """Scale degrees of the diatonic triad on `degree`: root, third, fifth."""
    return degree, degree + 2, degree + 4


def fit_range(pitch: int, low: int, high: int) -> int:
    """`pitch` moved by octaves into [low, high] (its nearest in-range octave)."""
    while pitch < low:
        pitch += 12
    while pitch > high:
        pitch -= 12
    return max(low, pitch) if pitch >= low else low


def voice(pitch_classes: list[int], near: int, low: int, high: int) -> list[int]:
    """A close voicing of the pitch classes, its lowest note near `near`, within [low, high]."""
    root = fit_range(near - (near - pitch_classes[0]) % 12, low, high)
    notes = [root]
    for pc in pitch_classes[1:]:
        candidate = notes[-1] + ((pc - notes[-1]) % 12 or 12)  # the next one up
        notes.append(candidate if candidate <= high else candidate - 12)
    return sorted(set(n for n in notes if low <= n <= high)) or [root]
