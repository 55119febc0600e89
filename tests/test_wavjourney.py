"""wavjourney: the audio script, its timeline, sound effects, and rendering."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from audio_creator.errors import ConfigError
from audio_creator.plan import effects
from audio_creator.plan.execute import mix_rendering, render_items
from audio_creator.plan.script import parse_script
from audio_creator.plan.timeline import FOREGROUND_GAP_S, place

GAP = FOREGROUND_GAP_S


def fx(length: float, **extra: object) -> dict[str, object]:
    return {"audio_type": "sound_effect", "len": length, "desc": "impact", **extra}


def bg(key: int, action: str, kind: str = "music") -> dict[str, object]:
    return {"audio_type": kind, "layout": "background", "id": key, "action": action}


def speech(text: str = "Hello.") -> dict[str, object]:
    return {"audio_type": "speech", "character": "Narrator", "text": text}


def spans(script: list[dict[str, object]], lengths: dict[int, float], cuts=()) -> list[tuple]:  # type: ignore[no-untyped-def,type-arg]
    timeline = place(parse_script(script), lengths, cuts)
    return [(p.index, round(p.start_s, 6), round(p.end_s, 6)) for p in timeline.placed]


def test_foreground_items_follow_each_other() -> None:
    script = [fx(2.0), speech(), fx(1.5)]
    assert spans(script, {0: 2.0, 1: 3.0, 2: 1.5}) == [
        (0, 0.0, 2.0), (1, 2.0 + GAP, 5.0 + GAP), (2, 5.0 + 2 * GAP, 6.5 + 2 * GAP),
    ]  # fmt: skip


def test_background_spans_the_foreground_it_wraps() -> None:
    script = [fx(1.0), bg(1, "begin"), speech(), fx(2.0), bg(1, "end"), fx(1.0)]
    lengths = {0: 1.0, 2: 3.0, 3: 2.0, 5: 1.0}
    assert spans(script, lengths) == [
        (0, 0.0, 1.0),
        (1, 1.0 + GAP, 6.0 + 2 * GAP),  # from the speech's start to the effect's end
        (2, 1.0 + GAP, 4.0 + GAP),
        (3, 4.0 + 2 * GAP, 6.0 + 2 * GAP),
        (5, 6.0 + 3 * GAP, 7.0 + 3 * GAP),
    ]


def test_absolute_and_video_anchored_items_are_placed_exactly() -> None:
    script = [
        {"audio_type": "music", "layout": "background", "start": 0.0, "len": 12.0},
        fx(1.0, start=5.0),
        speech(),  # after the anchored effect, which ends last
        fx(0.5, at_cut=1),
    ]
    assert spans(script, {0: 12.0, 1: 1.0, 2: 2.0, 3: 0.5}, cuts=(3.0, 9.25)) == [
        (0, 0.0, 12.0), (1, 5.0, 6.0), (2, 6.0 + GAP, 8.0 + GAP), (3, 9.25, 9.75),
    ]  # fmt: skip
    with pytest.raises(ConfigError, match="cut 1"):
        spans(script, {0: 12.0, 1: 1.0, 2: 2.0, 3: 0.5}, cuts=(3.0,))


def test_a_background_spans_only_the_items_between_its_begin_and_end() -> None:
    script = [fx(10.0), bg(1, "begin"), fx(1.0, start=1.0), bg(1, "end")]
    assert spans(script, {0: 10.0, 2: 1.0}) == [(0, 0.0, 10.0), (1, 1.0, 2.0), (2, 1.0, 2.0)]
    anchored_but_empty = [fx(10.0), {**bg(1, "begin"), "start": 2.0}, bg(1, "end")]
    timeline = place(parse_script(anchored_but_empty), {0: 10.0})
    assert [p.index for p in timeline.placed] == [0] and timeline.warnings


def test_unclosed_and_empty_backgrounds_are_handled_with_a_warning() -> None:
    script = parse_script([bg(1, "begin"), speech(), bg(2, "begin"), bg(2, "end")])
    timeline = place(script, {1: 2.0})
    assert [(p.index, p.start_s, p.end_s) for p in timeline.placed] == [
        (0, 0.0, 2.0),
        (1, 0.0, 2.0),
    ]
    assert any("no end" in w for w in timeline.warnings)
    assert any("spans no foreground" in w for w in timeline.warnings)


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ([bg(1, "end")], "end of id 1 without begin"),
        ([fx(-2.0)], "greater than 0"),
        ([{**fx(1.0), "colour": "red"}], "Extra inputs are not permitted"),
        ([{"audio_type": "speech", "text": "  "}], "needs its text"),
        ([{"audio_type": "music", "desc": "x"}], "needs its len"),
        ([{"audio_type": "sound_effect", "layout": "background", "len": 3}], "needs an id"),
        ([fx(1.0, start=1.0, at_cut=0)], "not both"),
        ([], "at least 1 item"),
    ],
)
def test_bad_scripts_are_refused_clearly(script: list[dict[str, object]], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_script(script)


@pytest.mark.parametrize(
    ("desc", "effect"),
    [
        ("heavy rain on a tin roof", "rain"), ("distant thunder rolling", "thunder"),
        ("a cold wind", "wind"), ("waves on the shore", "waves"), ("birds at dawn", "birds"),
        ("a whoosh for the transition", "whoosh"), ("applause", "applause"),
        ("a dragon roars", None),
    ],
)  # fmt: skip
def test_effects_are_chosen_from_the_description(desc: str, effect: str | None) -> None:
    assert effects.choose(desc) == effect


def spectral_centroid(x: np.ndarray, rate: int) -> float:
    """Where the energy lies, in Hz (the power spectrum's centre of mass)."""
    spectrum = np.abs(np.fft.rfft(x.mean(axis=0))) ** 2
    freqs = np.fft.rfftfreq(x.shape[1], 1 / rate)
    return float((spectrum * freqs).sum() / spectrum.sum())


def test_effects_sound_like_what_they_are() -> None:
    rate = 48000
    made = {name: effects.render_effect(name, 3.0, rate, seed=1) for name in
            ("rain", "thunder", "wind", "impact", "riser", "birds")}  # fmt: skip
    for name, x in made.items():
        assert x is not None and x.shape == (2, 3 * rate), name
        assert 0.45 < np.abs(x).max() <= 0.5 + 1e-6, name  # −6 dBFS peaks
        assert abs(x[:, :10]).max() < 0.05 or name in ("impact", "thunder"), name  # no click in
    # Rain hisses high; thunder and wind rumble low; an impact's energy is in its first second.
    assert spectral_centroid(made["rain"], rate) > 2500
    assert spectral_centroid(made["thunder"], rate) < 300
    assert spectral_centroid(made["wind"], rate) < 1000
    energy = (made["impact"] ** 2).sum(axis=0)
    assert energy[:rate].sum() > 0.9 * energy.sum()
    # A riser grows: its last second is louder than its first.
    riser = made["riser"] ** 2
    assert riser[:, -rate:].sum() > 4 * riser[:, :rate].sum()
    assert effects.render_effect("a dragon roars", 2.0) is None


def test_each_item_is_rendered_at_its_loudness(tmp_path: Path) -> None:
    script = parse_script(
        [
            {"audio_type": "music", "layout": "background", "id": 1, "action": "begin",
             "vol": -30, "desc": "calm piano"},
            {"audio_type": "sound_effect", "len": 2.5, "vol": -24, "desc": "distant thunder"},
            {"audio_type": "speech", "character": "Narrator", "vol": -16, "text": "Welcome back."},
            {"audio_type": "sound_effect", "len": 3.0, "vol": -35, "desc": "soft rain"},
            {"audio_type": "music", "layout": "background", "id": 1, "action": "end"},
        ]
    )  # fmt: skip
    rendering = render_items(script, tmp_path / "scratch.wav")
    assert not (tmp_path / "scratch.wav").exists()
    assert [i.audio_type for i in rendering.items] == [
        "music",
        "sound_effect",
        "speech",
        "sound_effect",
    ]
    for item in rendering.items:
        assert item.measured_lufs is not None
        assert abs(item.measured_lufs - item.vol) <= 1.0, item
        clip = rendering.audio[item.index]
        assert clip.duration_s == pytest.approx(item.end_s - item.start_s, abs=0.02)
    report = mix_rendering(rendering, tmp_path / "mix.wav", target_lufs=-16, true_peak_dbtp=-1)
    assert report["integrated_lufs"] == pytest.approx(-16.0, abs=0.1)
    assert report["duration_s"] == pytest.approx(rendering.timeline.duration_s, abs=0.01)


INSTRUCTIONS = (
    ("A 15-second cinematic intro with rain, thunder and a narrator saying 'Welcome back'",
     15.0, ["Welcome back"]),
    ('A calm 30 second meditation with ocean waves. "Breathe in." "Breathe out slowly."',
     30.0, ["Breathe in.", "Breathe out slowly."]),
    ("An upbeat pop jingle for a summer sale, 10 seconds, with applause", 10.0, []),
    ("A spooky forest at night: wind, an owl, a riser, and the words “Who goes there?”",
     None, ["Who goes there?"]),
    ("Breaking news sting with a whoosh and an impact, 8 s", 8.0, []),
    ("One minute of lo-fi study music with soft rain", 60.0, []),
    ("A campfire story: crackling fire, and a narrator says 'It was a dark and stormy night.'",
     None, ["It was a dark and stormy night."]),
    ("A phone ringing in an empty room, then someone says 'Hello? Is anyone there?'",
     None, ["Hello? Is anyone there?"]),
    ("Epic orchestral trailer, 20 seconds, with thunder and explosions, no speech", 20.0, []),
    ("Birds at dawn with gentle piano, no music, 12 seconds", 12.0, []),
    ("A podcast opener: 'Welcome to the show.' 'Today we talk about sound.'", None,
     ["Welcome to the show.", "Today we talk about sound."]),
)  # fmt: skip


@pytest.mark.parametrize(("instruction", "seconds", "lines"), INSTRUCTIONS)
def test_the_offline_planner_writes_a_sensible_script(
    instruction: str, seconds: float | None, lines: list[str]
) -> None:
    from audio_creator.plan.rules import SPEECH_CHARS_PER_S, plan_with_rules

    script = plan_with_rules(instruction)
    spoken = [item.text for item in script.items if item.audio_type == "speech"]
    assert spoken == lines  # every quoted line, in order, and nothing else
    lengths = {
        i: (len(item.text or "") / SPEECH_CHARS_PER_S if item.audio_type == "speech" else item.len)
        for i, item in enumerate(script.items)
        if item.layout == "foreground" or item.len is not None
    }
    timeline = place(script, lengths)  # type: ignore[arg-type]
    assert not timeline.warnings
    if seconds is not None:
        assert timeline.duration_s == pytest.approx(seconds, rel=0.1)
    else:
        assert 8.0 <= timeline.duration_s <= 60.0
    # Speech never overlaps speech, and the words are the loudest thing planned.
    talks = sorted((p.start_s, p.end_s) for p in timeline.placed if p.item.audio_type == "speech")
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(talks))
    if spoken:
        loudest = max(item.vol for item in script.items)
        assert all(item.vol == loudest for item in script.items if item.audio_type == "speech")
    kinds = {item.audio_type for item in script.items}
    assert ("music" in kinds) == ("no music" not in instruction)


@pytest.mark.parametrize(
    ("instruction", "lines"),
    [
        ("Narrator: 'I don't know, it's late' and rain", ["I don't know, it's late"]),
        ("He says ‘We’re done here’, then „Auf Wiedersehen“ and «Au revoir»",
         ["We’re done here", "Auf Wiedersehen", "Au revoir"]),
    ],
)  # fmt: skip
def test_quoted_lines_keep_their_apostrophes(instruction: str, lines: list[str]) -> None:
    from audio_creator.plan.rules import plan_with_rules

    script = plan_with_rules(instruction)
    assert [item.text for item in script.items if item.audio_type == "speech"] == lines


@pytest.mark.parametrize(
    "instruction",
    ["Upbeat pop for a drone shot of the city, for a young audience",
     "ambient music for a phone unboxing video", "a hit song for the party"],
)  # fmt: skip
def test_ordinary_words_bring_no_sound_effects(instruction: str) -> None:
    from audio_creator.plan.rules import plan_with_rules

    script = plan_with_rules(instruction)
    assert [item.audio_type for item in script.items] == ["music"]


def test_lines_follow_each_other_however_long_they_take(tmp_path: Path) -> None:
    from audio_creator.plan.rules import plan_with_rules

    script = plan_with_rules(
        'The narrator says "In 1999, 2,500 people met at 221B Baker St. on Jan. 3rd." '
        'then "Dr. Smith arrived at 10:45 p.m. with $1,250,000." then "Nobody knew why."'
    )
    rendering = render_items(script, tmp_path / "s.wav")
    talks = [(i.start_s, i.end_s) for i in rendering.items if i.audio_type == "speech"]
    assert len(talks) == 3
    assert all(b[0] >= a[1] + GAP - 1e-9 for a, b in itertools.pairwise(talks))


def test_items_reach_their_loudness_however_short_or_loud(tmp_path: Path) -> None:
    from audio_creator.audio import Audio, save
    from helpers import ffmpeg_loudness

    script = parse_script([
        {"audio_type": "speech", "character": "A", "vol": -30, "text": "No."},
        {"audio_type": "sound_effect", "len": 0.3, "vol": -40, "desc": "impact"},
        {"audio_type": "music", "len": 4.0, "vol": -12, "desc": "electronic dance"},
        {"audio_type": "sound_effect", "len": 2.0, "vol": -5, "desc": "distant thunder"},
    ])  # fmt: skip
    rendering = render_items(script, tmp_path / "s.wav")
    for item in rendering.items:
        clip = rendering.audio[item.index]
        padded = np.zeros((clip.channels, max(clip.frames, round(0.4 * clip.sample_rate))))
        padded[:, : clip.frames] = clip.samples  # a meter needs one 400 ms block at least
        path = save(
            Audio(padded.astype(np.float32), clip.sample_rate), tmp_path / f"{item.index}.wav"
        )
        independent = ffmpeg_loudness(path)
        assert item.measured_lufs == pytest.approx(independent["I"], abs=0.1)
        assert independent["TP"] <= -0.95
        if item.vol > -6:  # thunder at −5 LUFS: more than its peaks allow, and it says so
            assert any(
                f"item {item.index + 1} " in w and "reached" in w for w in rendering.warnings
            )
            assert item.measured_lufs < -6
        else:
            assert abs(independent["I"] - item.vol) <= 1.0, (item, independent)


def test_a_video_gives_the_length_and_the_cuts(tmp_path: Path) -> None:
    from audio_creator.analysis.video import analyse_video
    from audio_creator.media.demo import DEMO_CUTS_S, make_demo_video
    from audio_creator.plan.rules import plan_with_rules

    video = make_demo_video(tmp_path / "d.mp4", width=320, height=180)
    analysis = analyse_video(video)
    script = plan_with_rules("Whooshes on every cut, and 'Here we go'", analysis)
    timeline = place(script, {i: item.len or 1.0 for i, item in enumerate(script.items)},
                     analysis.cuts_s)  # fmt: skip
    assert timeline.duration_s == pytest.approx(20.0, abs=0.05)
    whooshes = [p.start_s for p in timeline.placed if p.item.desc == "whoosh"]
    assert whooshes == pytest.approx(list(DEMO_CUTS_S), abs=0.05)


def chat_reply(text: str) -> tuple[int, object, float]:
    from chat_server import answer

    return 200, answer(text), 0.0


GOOD = '{"items": [{"audio_type": "speech", "character": "Host", "text": "Hi there."}]}'


def test_the_llm_planner_takes_a_valid_script(server: str) -> None:
    from audio_creator.llm import LLMSettings
    from audio_creator.plan.llm_planner import plan_with_llm
    from chat_server import KEY, Endpoint

    Endpoint.script = [chat_reply("Here it is:\n```json\n" + GOOD + "\n```")]
    settings = LLMSettings(model="tiny-model", api_key=KEY, base_url=server, retries=0)
    script = plan_with_llm("A greeting", settings=settings)
    assert script.items[0].text == "Hi there."
    sent = Endpoint.requests[0]["body"]
    assert sent["response_format"]["type"] == "json_schema"  # structured output asked for
    assert "A greeting" in sent["messages"][1]["content"]


@pytest.mark.parametrize("suffix", ["/v1", "/v1/", "/"])
def test_a_base_url_given_with_its_v1_is_not_doubled(server: str, suffix: str) -> None:
    from audio_creator.llm import LLMSettings
    from audio_creator.plan.llm_planner import plan_with_llm
    from chat_server import KEY, Endpoint

    Endpoint.script = [chat_reply(GOOD)]
    settings = LLMSettings(model="tiny-model", api_key=KEY, base_url=server + suffix, retries=0)
    assert plan_with_llm("A greeting", settings=settings).items[0].text == "Hi there."
    assert Endpoint.requests[-1]["path"] == "/v1/chat/completions"


def test_the_llm_planner_repairs_an_invalid_script(server: str) -> None:
    from audio_creator.llm import LLMSettings
    from audio_creator.plan.llm_planner import plan_with_llm
    from chat_server import KEY, Endpoint

    bad = '{"items": [{"audio_type": "music", "desc": "drums", "len": -3}]}'
    Endpoint.script = [chat_reply(bad), chat_reply(GOOD)]
    settings = LLMSettings(model="tiny-model", api_key=KEY, base_url=server, retries=0)
    assert plan_with_llm("A greeting", settings=settings).items[0].text == "Hi there."
    repair = Endpoint.requests[1]["body"]["messages"]
    assert repair[-2] == {"role": "assistant", "content": bad}
    assert "items/0/len" in repair[-1]["content"] and "greater than 0" in repair[-1]["content"]


@pytest.mark.parametrize(
    ("replies", "message"),
    [
        ([chat_reply("not a script")] * 4, "still invalid after 3 repair rounds"),
        ([(200, {"choices": [{"index": 0, "finish_reason": "stop", "message": {
            "role": "assistant", "content": None, "refusal": "I can't help with that."}}],
            "id": "x", "object": "chat.completion", "created": 0, "model": "m"}, 0.0)],
         "declined to write a script: I can't help with that."),
        ([(200, {}, 3.0)], "did not answer within 0.5 s"),
    ],
)  # fmt: skip
def test_the_llm_planner_fails_clearly(server: str, replies: list, message: str) -> None:  # type: ignore[type-arg]
    from audio_creator.errors import BackendUnavailable
    from audio_creator.llm import LLMSettings
    from audio_creator.plan.llm_planner import plan_with_llm
    from chat_server import KEY, Endpoint

    Endpoint.script = list(replies)
    settings = LLMSettings(model="m", api_key=KEY, base_url=server, retries=0, timeout_s=0.5)
    with pytest.raises(BackendUnavailable, match=re.escape(message)):
        plan_with_llm("A greeting", settings=settings)


def test_a_server_without_structured_output_is_asked_for_json_in_text(server: str) -> None:
    from audio_creator.llm import LLMSettings
    from audio_creator.plan.llm_planner import plan_with_llm
    from chat_server import KEY, Endpoint

    rejected = (400, {"error": {"message": "response_format is not supported"}}, 0.0)
    Endpoint.script = [rejected, chat_reply(GOOD)]
    settings = LLMSettings(model="m", api_key=KEY, base_url=server, retries=0)
    assert plan_with_llm("A greeting", settings=settings).items[0].text == "Hi there."
    assert "response_format" not in Endpoint.requests[1]["body"]


@pytest.mark.slow
def test_wavjourney_end_to_end_offline(tmp_path: Path) -> None:
    import json

    from audio_creator import compat
    from helpers import ffmpeg_loudness

    out = tmp_path / "intro.wav"
    instruction = (
        "A 15-second cinematic intro with rain, thunder and a narrator saying 'Welcome back'"
    )
    assert compat.main(["--mode", "wavjourney", "--instruction", instruction,
                        "--output_path", str(out)]) == 0  # fmt: skip
    assert ffmpeg_loudness(out)["I"] == pytest.approx(-16.0, abs=0.1)
    report = json.loads((tmp_path / "intro_report.json").read_text())
    assert report["planner"] == "rules" and report["duration_s"] == pytest.approx(15.0)
    assert report["planner_why"] == "auto: no API key is configured"
    for item in report["items"]:
        assert abs(item["measured_lufs"] - item["vol"]) <= 1.0
    # The script written beside it renders again, without any planning.
    again = tmp_path / "again.wav"
    script = str(tmp_path / "intro_script.json")
    with pytest.raises(SystemExit) as refused:  # neither an instruction nor a script
        compat.main(["--mode", "wavjourney", "--output_path", str(again)])
    assert refused.value.code == 2
    from audio_creator import cli

    assert cli.main(["wavjourney", "--script", script, "-o", str(again)]) == 0
    assert json.loads((tmp_path / "again_report.json").read_text())["planner"] == "script"


def test_unknown_characters_get_the_default_voice(tmp_path: Path) -> None:
    script = parse_script({
        "items": [{"audio_type": "speech", "character": "Ghost", "text": "Boo."}],
        "characters": {"Host": {"engine": "espeak"}},
    })  # fmt: skip
    rendering = render_items(script, tmp_path / "s.wav")
    assert any("no voice is set for 'Ghost'" in w for w in rendering.warnings)
    assert rendering.audio[0].sample_rate == 22050  # the default (Piper) voice


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--instruction", "   "], "the instruction has no words"),
        (["--script", "{tmp}/bad.json"], "without begin"),
        (["--script", "{tmp}/neg.json"], "greater than 0"),
        (["--script", "{tmp}/missing.json"], "not found"),
        (["--instruction", "x", "--planner", "magic"], "--planner must be one of"),
        (["--instruction", "x", "--merge-video"], "needs the video"),
        (["--script", "{tmp}/cut.json"], "give --video"),
        (["--script", "{tmp}/nan.json"], "vol: Input should be a finite number"),
        (["--script", "{tmp}/many.json"], "should have at most 20000 items"),
    ],
)
def test_bad_input_is_refused(
    tmp_path: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from audio_creator import cli

    (tmp_path / "bad.json").write_text('[{"audio_type": "music", "layout": "background", '
                                       '"id": 1, "action": "end"}]')  # fmt: skip
    (tmp_path / "neg.json").write_text('[{"audio_type": "sound_effect", "len": -1, "desc": "x"}]')
    (tmp_path / "cut.json").write_text('[{"audio_type": "sound_effect", "len": 1, "at_cut": 0}]')
    import json

    many = [{"audio_type": "sound_effect", "desc": "tick", "len": 0.1, "start": k * 0.2}
            for k in range(20_001)]  # fmt: skip
    (tmp_path / "many.json").write_text(json.dumps(many))
    (tmp_path / "nan.json").write_text(  # JSON as Python writes it (and an LLM may answer)
        '[{"audio_type": "speech", "character": "A", "text": "Hi.", "vol": NaN}]'
    )
    out = tmp_path / "o" / "a.wav"
    argv = ["wavjourney", "-o", str(out), *(a.replace("{tmp}", str(tmp_path)) for a in args)]
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err
    assert not out.parent.exists()  # a refused run leaves no folder of its making


def test_a_script_for_a_video_follows_its_cuts_and_goes_into_it(tmp_path: Path) -> None:
    import json

    from audio_creator import cli
    from audio_creator.media.demo import DEMO_CUTS_S, make_demo_video
    from helpers import ffmpeg_loudness, packet_hashes

    video = make_demo_video(tmp_path / "clip.mp4", width=320, height=180)
    out = tmp_path / "out" / "sound.wav"
    args = ["wavjourney", "--instruction", "Whooshes on the cuts and 'Here we go.'"]
    assert cli.main([*args, "--video", str(video), "-o", str(out), "--merge-video"]) == 0
    report = json.loads((tmp_path / "out" / "sound_report.json").read_text())
    assert report["duration_s"] == pytest.approx(20.0, abs=0.05)
    whooshes = [i["start_s"] for i in report["items"] if i["desc"] == "whoosh"]
    assert whooshes == pytest.approx(list(DEMO_CUTS_S), abs=0.05)
    merged = tmp_path / "out" / "sound.mp4"
    assert packet_hashes(merged) == packet_hashes(video)
    assert ffmpeg_loudness(out)["I"] == pytest.approx(-16.0, abs=0.1)


def test_a_model_named_without_a_key_is_said_not_silently_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from audio_creator import cli

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env of the checkout's
    out = tmp_path / "w.wav"
    argv = ["wavjourney", "--instruction", "Rain for 3 seconds.", "--llm-model", "some-model",
            "-o", str(out)]  # fmt: skip
    assert cli.main(argv) == 0
    assert "--llm-model some-model was given, but no API key is configured" in (
        capsys.readouterr().err
    )
    report = json.loads((tmp_path / "w_report.json").read_text())
    assert report["planner"] == "rules" and "--llm-model some-model" in report["planner_why"]


def test_a_merged_video_shorter_than_the_speech_is_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from audio_creator import cli
    from helpers import run_ffmpeg

    video = tmp_path / "one.mp4"  # 1 s, the shortest video taken: shorter than the speech
    run_ffmpeg("-f", "lavfi", "-i", "color=black:s=64x36:r=25", "-frames:v", "25", str(video))
    out = tmp_path / "w.wav"
    argv = ["wavjourney", "--instruction", "A narrator saying 'Welcome back, everyone'",
            "--video", str(video), "--merge-video", "-o", str(out)]  # fmt: skip
    assert cli.main(argv) == 0
    said = "the merged video leaves out its last"
    assert said in capsys.readouterr().err
    report = json.loads((tmp_path / "w_report.json").read_text())
    assert any(said in w and "speech included" in w for w in report["warnings"])
