"""The vision captioner against a local OpenAI-compatible server: real HTTP, the real client."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import av
import pytest

from audio_creator import cli
from audio_creator.analysis.video import analyse_video
from audio_creator.caption.vision import caption_with_vision, frame_times
from audio_creator.errors import BackendUnavailable, ConfigError
from audio_creator.llm import LLMSettings
from audio_creator.media.demo import DEMO_CUTS_S, make_demo_video
from chat_server import KEY, Endpoint, answer


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    video = make_demo_video(tmp_path_factory.mktemp("v") / "demo.mp4", width=640, height=360)
    return video, analyse_video(video)


def settings(url: str, **changes: Any) -> LLMSettings:
    return LLMSettings(
        **{"model": "tiny-model", "api_key": KEY, "base_url": url, "timeout_s": 5.0, "retries": 2,
           **changes}
    )  # fmt: skip


def test_frames_come_from_the_middle_of_each_shot(demo: tuple[Path, Any]) -> None:
    _, analysis = demo
    middles = [2.0, 6.0, 10.0, 14.0, 18.0]  # shots 0–4–8–12–16–20 s
    assert DEMO_CUTS_S == (4.0, 8.0, 12.0, 16.0)
    assert frame_times(analysis, 5) == pytest.approx(middles, abs=0.05)
    assert frame_times(analysis, 3) == pytest.approx([2.0, 10.0, 18.0], abs=0.05)
    assert frame_times(analysis, 8) == pytest.approx([1.25 + 2.5 * i for i in range(8)])


def test_a_caption_comes_back_and_the_frames_went_as_jpeg(
    server: str, demo: tuple[Path, Any]
) -> None:
    video, analysis = demo
    Endpoint.script = [(200, answer('A red square glides over a "blue" field.'), 0.0)]
    ask = settings(server)
    caption = caption_with_vision(video, analysis, max_words=40, frames=3, settings=ask)
    assert caption.text == "A red square glides over a blue field."
    assert caption.backend == "openai" and KEY not in caption.reason
    sent = Endpoint.requests[0]
    assert sent["path"] == "/v1/chat/completions" and sent["auth"] == f"Bearer {KEY}"
    assert sent["body"]["model"] == "tiny-model"
    images = [p for p in sent["body"]["messages"][1]["content"] if p["type"] == "image_url"]
    assert len(images) == 3
    # Each is a real JPEG of the frame, 384 pixels on its short side.
    jpeg = base64.b64decode(images[0]["image_url"]["url"].removeprefix("data:image/jpeg;base64,"))
    assert jpeg[:3] == b"\xff\xd8\xff"
    with av.open(__import__("io").BytesIO(jpeg)) as container:
        picture = next(container.decode(video=0))
    assert (picture.width, picture.height) == (682, 384)


def test_a_long_answer_is_cut_to_the_word_limit(server: str, demo: tuple[Path, Any]) -> None:
    video, analysis = demo
    long = "The sea is calm. " * 30
    Endpoint.script = [(200, answer(long), 0.0)]
    ask = settings(server)
    caption = caption_with_vision(video, analysis, max_words=10, frames=1, settings=ask)
    assert caption.text == "The sea is calm. The sea is calm."  # 8 words; a third makes 12


def test_rate_limits_are_retried(server: str, demo: tuple[Path, Any]) -> None:
    video, analysis = demo
    busy = {"error": {"message": "slow down", "type": "rate_limit"}}
    Endpoint.script = [(429, busy, 0.0), (503, busy, 0.0), (200, answer("Waves roll in."), 0.0)]
    ask = settings(server)
    caption = caption_with_vision(video, analysis, max_words=20, frames=1, settings=ask)
    assert caption.text == "Waves roll in." and len(Endpoint.requests) == 3


@pytest.mark.parametrize(
    ("reply", "error", "message"),
    [
        (
            (401, {"error": {"message": "bad key"}}, 0.0),
            ConfigError,
            r"refused the API key \(401\)",
        ),
        ((404, {"error": {"message": "no model"}}, 0.0), ConfigError, "has no model 'tiny-model'"),
        ((200, "{not json", 0.0), BackendUnavailable, "not JSON"),
        ((200, {"choices": []}, 0.0), BackendUnavailable, "no caption text"),
        ((200, answer(""), 0.0), BackendUnavailable, "no caption text"),
        ((200, answer("late"), 3.0), BackendUnavailable, "did not answer within 0.5 s"),
    ],
)
def test_failures_are_clear(
    server: str, demo: tuple[Path, Any], reply: tuple[int, Any, float], error: type, message: str
) -> None:
    video, analysis = demo
    Endpoint.script = [reply]
    quick = settings(server, timeout_s=0.5, retries=0)
    with pytest.raises(error, match=message) as caught:
        caption_with_vision(video, analysis, max_words=20, frames=1, settings=quick)
    assert KEY not in str(caught.value)


def test_an_unreachable_endpoint_under_auto_falls_back_to_offline(
    demo: tuple[Path, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    video, _ = demo
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9")  # nothing listens on port 9
    out = tmp_path / "a.wav"
    assert cli.main(["autopipeline", "--video", str(video), "-o", str(out)]) == 0
    report = json.loads((tmp_path / "a_report.json").read_text())
    assert report["caption"]["backend"] == "offline"
    assert "vision captioner failed" in report["caption"]["reason"]
    err = capsys.readouterr().err
    assert "describing the video offline" in err
    # The key appears nowhere: not in the log, the report, or any file written.
    assert KEY not in err
    assert all(KEY not in p.read_bytes().decode("latin-1") for p in tmp_path.iterdir())
    # Asked for by name, the same failure is an error, and nothing is left behind.
    out2 = tmp_path / "b" / "b.wav"
    args = ["autopipeline", "--video", str(video), "-o", str(out2), "--caption-backend", "openai"]
    assert cli.main(args) == 3
    assert not out2.parent.exists() or not any(out2.parent.iterdir())
