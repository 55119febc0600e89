"""One source for every option of a job: a field of the job's options dataclass says its default
(the field's), its help, bounds, choices and what kind of thing it names; the command line is made
from it (`add_arguments`), and so are the other interfaces that list a job's options.

Only the standard library is imported here, so that `audio-creator --help` answers at once.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Any, ClassVar

from audio_creator.errors import ConfigError

# What a field names, for the interfaces that must treat files with care (the web fills these
# itself: a client can name no path on the server).
ROLES = (
    "value",  # a number, a word, a switch: taken as given
    "input",  # a file the job reads
    "output",  # the file the job writes (its main output)
    "extra_output",  # a further file the job writes if asked
    "server_file",  # a file of the server's own (a SoundFont, an adapter)
    "voice",  # a voice: a name in the models folder, or a path
    "model",  # model weights: a name from `models list`, or a folder
    "secret",  # a key: never logged, never stored in a job's record
)


@dataclass(frozen=True)
class Spec:
    """What the interfaces need to know about one option, beside its name, type and default."""

    help: str
    flags: tuple[str, ...] = ()  # further spellings on the command line: "-o", "--model"
    choices: tuple[Any, ...] | None = None
    low: float | None = None  # bounds of a number (the job refuses what is outside them)
    high: float | None = None
    role: str = "value"
    metavar: str | None = None
    shared: bool = False  # a global option of the command line (`--device`), not the mode's
    original: tuple[str, ...] = ()  # its spellings in the original `main.py` (see `compat`)

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}")


def option(default: Any = dataclasses.MISSING, *, help: str, **spec: Any) -> Any:
    """A field of a job's options, with its `Spec` (no default: the option is required)."""
    if isinstance(default, list):
        return dataclasses.field(
            default_factory=lambda: list(default), metadata={"spec": Spec(help, **spec)}
        )
    return dataclasses.field(default=default, metadata={"spec": Spec(help, **spec)})


@dataclass(frozen=True)
class Field:
    """One option of a job, as the interfaces see it."""

    name: str  # the keyword, and the long option with "-" for "_"
    kind: type  # bool, int, float, str or Path (a list's items for `many`)
    optional: bool  # None is a value (nothing given)
    many: bool  # a list of values (given once for each)
    required: bool
    default: Any
    spec: Spec

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


class JobOptions:
    """The base of a job's options dataclass. `ONE_OF` lists groups of options of which at most
    one may be given; `NEEDS_ONE` those of which exactly one must be."""

    MODE: ClassVar[str]
    ONE_OF: ClassVar[tuple[tuple[str, ...], ...]] = ()
    NEEDS_ONE: ClassVar[tuple[tuple[str, ...], ...]] = ()

    def __post_init__(self) -> None:
        for f in _fields(type(self)):  # text where a path is meant becomes a path
            value = getattr(self, f.name)
            if f.kind is Path and f.many and isinstance(value, (list, tuple)):
                value = [Path(v) if isinstance(v, str) and v else v for v in value]
            elif f.kind is Path and isinstance(value, str) and value:
                value = Path(value)
            object.__setattr__(self, f.name, value)
        check(self)

    @classmethod
    def fields(cls) -> list[Field]:
        """The options: required ones first, then the mode's own, then those it shares with
        other modes (as a base class declares them)."""

        def declared_by(f: Field) -> int:
            return next(i for i, c in enumerate(cls.__mro__) if f.name in vars(c).get(
                "__annotations__", {}))  # fmt: skip

        return sorted(_fields(cls), key=lambda f: (not f.required, declared_by(f)))

    @classmethod
    def bounds(cls, name: str) -> tuple[float | None, float | None]:
        """The declared (low, high) of the option `name`."""
        spec = next(f.spec for f in _fields(cls) if f.name == name)
        return spec.low, spec.high

    @classmethod
    def from_namespace(cls, args: argparse.Namespace) -> Any:
        """The options from a command line parsed by a parser `add_arguments` made."""
        return cls(**{f.name: getattr(args, f.name) for f in cls.fields()})


def _fields(cls: type) -> Iterator[Field]:
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        spec = f.metadata.get("spec")
        if spec is None:
            continue
        kind, optional, many = _kind(hints[f.name])
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        default = None if required else (f.default if f.default_factory is dataclasses.MISSING
                                         else f.default_factory())  # fmt: skip
        yield Field(f.name, kind, optional, many, required, default, spec)


def _kind(hint: Any) -> tuple[type, bool, bool]:
    """(item type, None allowed, a list) of a field's annotation."""
    args = typing.get_args(hint)
    optional = False
    if isinstance(hint, UnionType) or typing.get_origin(hint) is typing.Union:
        optional = type(None) in args
        (hint,) = [a for a in args if a is not type(None)]
        args = typing.get_args(hint)
    if typing.get_origin(hint) in (list, tuple):
        return args[0], optional, True
    return hint, optional, False


def check(options: Any) -> None:
    """Refuse, with a message naming the option, a value of the wrong type, not finite or not
    among its choices; and groups given more than one (or none where one is needed)."""
    for f in _fields(type(options)):
        value = getattr(options, f.name)
        for item in value if f.many else [value]:
            _check_value(f, item)
    given = {f.name for f in _fields(type(options)) if getattr(options, f.name) not in (None, [])}
    for group in (*options.ONE_OF, *options.NEEDS_ONE):
        chosen = [name for name in group if name in given]
        if len(chosen) > 1:
            raise ConfigError(f"give only one of {_flags(chosen)}")
    for group in options.NEEDS_ONE:
        if not any(name in given for name in group):
            raise ConfigError(f"give one of {_flags(group)}")


def out_of_bounds(options: Any) -> list[str]:
    """What in `options` lies outside its declared bounds, one line each: what a caller that
    takes many jobs in at once (the web, a batch) can refuse up front, all problems together."""
    found = []
    for f in _fields(type(options)):
        value, low, high = getattr(options, f.name), f.spec.low, f.spec.high
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        if (low is not None and value < low) or (high is not None and value > high):
            span = f"{'…' if low is None else f'{low:g}'}–{'…' if high is None else f'{high:g}'}"
            found.append(f"{f.flag} must be within {span}, got {value:g}")
    return found


def _check_value(f: Field, value: Any) -> None:
    if value is None:
        if f.optional or f.many:
            return
        raise ConfigError(f"{f.flag} needs a value")
    if f.kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{f.flag} is a switch: true or false, not {value!r}")
        return
    if f.kind is Path:
        if not isinstance(value, (str, Path)) or not str(value):
            raise ConfigError(f"{f.flag} must name a file, not {value!r}")
        return
    if f.kind in (int, float):
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or (f.kind is int and not float(value).is_integer()):
            raise ConfigError(f"{f.flag} must be {'a whole' if f.kind is int else 'a'} number, "
                              f"not {value!r}")  # fmt: skip
        if not math.isfinite(value):
            raise ConfigError(f"{f.flag} must be a finite number, got {value}")
        # Bounds are the job's to enforce, with its own words (its classes serve Python callers
        # too); a test holds each declared bound to what the job refuses.
    elif not isinstance(value, str):
        raise ConfigError(f"{f.flag} must be text, not {value!r}")
    if f.spec.choices is not None and value not in f.spec.choices:
        raise ConfigError(
            f"{f.flag} must be one of {', '.join(map(str, f.spec.choices))}, got {value!r}"
        )


def _flags(names: typing.Iterable[str]) -> str:
    return ", ".join("--" + name.replace("_", "-") for name in names)


def add_arguments(parser: argparse.ArgumentParser, cls: type[JobOptions]) -> None:
    """The mode's options as `parser`'s arguments: each named after its field, with its default,
    help, choices and further spellings; options of a `NEEDS_ONE` or `ONE_OF` group exclusive.
    A value outside the choices is refused by the options themselves, in the words the Python
    and web callers see too."""
    groups: dict[str, argparse._MutuallyExclusiveGroup] = {}
    for group in cls.NEEDS_ONE:
        groups |= dict.fromkeys(group, parser.add_mutually_exclusive_group(required=True))
    for group in cls.ONE_OF:
        groups |= dict.fromkeys(group, parser.add_mutually_exclusive_group())
    for f in cls.fields():
        if f.spec.shared:
            continue  # given by the command line's global option of that name
        where: Any = groups.get(f.name, parser)
        names = [*(s for s in f.spec.flags if not s.startswith("--")), f.flag,
                 *(s for s in f.spec.flags if s.startswith("--"))]  # fmt: skip
        extra: dict[str, Any] = {"help": f.spec.help, "dest": f.name}
        if f.spec.metavar:
            extra["metavar"] = f.spec.metavar
        if f.kind is bool:
            where.add_argument(*names, action="store_true", **extra)
            continue
        if f.spec.choices is not None:  # shown as argparse shows choices; refused by `check`
            extra["metavar"] = "{" + ",".join(map(str, f.spec.choices)) + "}"
        if f.many:
            extra |= {"action": "append", "default": []}
        elif f.required and f.name not in groups:
            extra["required"] = True
        else:
            extra["default"] = f.default
        where.add_argument(*names, type=f.kind, **extra)


def check_default(f: Field, value: Any) -> None:
    """Refuse, with a message naming the option, a value for `f` that no job could take: of the
    wrong type, not among its choices or outside its bounds (a batch's defaults are checked so,
    before any row runs)."""
    if f.spec.role == "extra_output":  # a switch here: on, or off
        if not isinstance(value, bool):
            raise ConfigError(f"{f.flag} is a switch here: true or false, not {value!r}")
        return
    low, high = f.spec.low, f.spec.high
    for item in value if f.many else [value]:
        _check_value(f, item)
        number = isinstance(item, (int, float)) and not isinstance(item, bool)
        if number and ((low is not None and item < low) or (high is not None and item > high)):
            lowest = "…" if low is None else f"{low:g}"
            highest = "…" if high is None else f"{high:g}"
            raise ConfigError(f"{f.flag} must be within {lowest}–{highest}, got {item:g}")


BATCH_PREFIX = "row__"  # the destination of a mode's option given to `batch`


def add_batch_defaults(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, cls: type[JobOptions],
    taken: set[str],
) -> None:  # fmt: skip
    """The mode's options as defaults for every row of a batch: each optional (left out unless
    given), none of its outputs (each row has its own folder) or secrets; a flag the batch uses
    itself (`taken`) is spelled as the original main.py spelled it. An extra output is a
    switch here (each row writes it into its own folder, under its usual name)."""
    for f in cls.fields():
        if f.spec.shared or f.spec.role in ("output", "secret") or f.name == "merged_video_path":
            continue  # (merge_video writes the video, by its usual name)
        flags = [f.flag] if f.flag not in taken else [o for o in f.spec.original if o not in taken]
        if not flags:
            continue
        extra: dict[str, Any] = {"help": f.spec.help, "dest": BATCH_PREFIX + f.name,
                                 "default": argparse.SUPPRESS}  # fmt: skip
        if f.kind is bool or f.spec.role == "extra_output":
            parser.add_argument(*flags, action="store_true", **extra)
            continue
        if f.spec.choices is not None:
            extra["metavar"] = "{" + ",".join(map(str, f.spec.choices)) + "}"
        else:
            extra["metavar"] = f.spec.metavar or f.name.upper()
        if f.many:
            extra["action"] = "append"
        parser.add_argument(*flags, type=f.kind, **extra)


__all__ = [
    "BATCH_PREFIX", "Field", "JobOptions", "Spec", "add_arguments", "add_batch_defaults",
    "check", "check_default", "option", "out_of_bounds",
]  # fmt: skip
