"""The web UI (Gradio), mounted at `/` beside the API: a tab per mode, and one for past jobs.

Each tab is a form over its command's options. Running it takes the job in exactly as the API
does (`web.service`): the job runs in a worker process of the job manager, and the page follows
it in the job store — a progress bar and the live log while it runs, then players, the timeline
picture and downloads. Closing the page does not stop a job: it stays in the Jobs tab (and at
/api/jobs) with its results.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audio_creator.jobs.options import JOBS, STYLE_NAMES
from audio_creator.web import commands, service
from audio_creator.web.jobs import JobManager
from audio_creator.web.store import FINISHED, Job, JobStore
from audio_creator.web.ui_jobs import jobs_tab, offered
from audio_creator.web.ui_results import (
    Results,
    handed_over,
    log_text,
    result_view,
    status_html,
)

POLL_S = 0.5
ENGINES = ("auto", "piper", "kokoro", "coqui", "espeak", "pyttsx3")
_CSS = """
.ac-status progress { width: 100%; height: 14px; }
.ac-status .ac-error { color: #b42318; margin-top: 4px; }
"""


@dataclass(frozen=True)
class Field:
    """A form input → a job parameter: the option it sets (`dest`), and how.

    An `upload` is a file sent with the job under the name `dest`; `start_of` makes the value a
    start time (seconds) for the file option it names (`--music music@12.5`); `cast` turns the
    widget's value into the option's type. Empty values are left out: the command's default.
    A `random` switch, when on, gives `dest` a value drawn for this job (kept in its record).
    """

    dest: str
    upload: bool = False
    start_of: str | None = None
    cast: Callable[[Any], Any] | None = None
    random: bool = False  # a switch: when on, the job gets a new random `dest` (a seed)


@dataclass
class Tab:
    """One mode's form: its fields, the widgets that hold them, in order; `reuse`, the session
    state that "Run again with changes" fills with the kept input files a job is to read again
    (field → file), unless a new upload replaces them."""

    mode: str
    fields: list[tuple[Field, Any]]
    reuse: Any = None


def mount(app: Any, store: JobStore, manager: JobManager, max_bytes: int) -> None:
    """Mount the UI on `app` at `/`. Who may use it is the server's door's to say
    (`web.guard`: the token, the host, the origin), as for the API."""
    import os

    import gradio as gr

    # Uploads and Gradio's copies of results live beside the jobs, not in a shared /tmp/gradio.
    os.environ.setdefault("GRADIO_TEMP_DIR", str(store.root / "gradio"))
    blocks = build(store, manager)
    gr.mount_gradio_app(
        app, blocks, path="/", max_file_size=max_bytes, ssr_mode=False, mcp_server=False,
        pwa=False, run_history=False, footer_links=[],
        show_error=False,  # an unexpected error's text (server paths) stays in the server's log
        theme=gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["monospace"]),
        css=_CSS,
    )  # fmt: skip
    # Gradio checks that a file named in a request was uploaded only once it believes itself
    # launched, which mounting never says: say it, so its own check runs before ours.
    blocks.has_launched = True


def build(store: JobStore, manager: JobManager) -> Any:
    """The Gradio Blocks of the UI."""
    import gradio as gr

    def uploaded(value: Any) -> Path:
        return uploaded_file(blocks, value)

    # Gradio serves results from copies in its cache: those a day old go, hourly.
    with gr.Blocks(
        title="Audio Creator", analytics_enabled=False, delete_cache=(3600, 86400)
    ) as blocks:
        gr.Markdown(
            "# Audio Creator\nGive a video its soundtrack: music, narration, the mix. "
            "[HTTP API](/docs)"
        )
        forms: dict[str, Tab] = {}
        with gr.Tabs() as tabs:
            for title, form in (
                ("AutoPipeline", _autopipeline), ("VidMuse", _vidmuse), ("TTS", _tts),
                ("Mix", _mix), ("WavJourney", _wavjourney),
            ):  # fmt: skip
                with gr.Tab(title, id=title.lower(), elem_id=f"tab-{title.lower()}"):
                    forms[title.lower()] = form(gr)
                    _job_panel(gr, forms[title.lower()], store, manager, uploaded)
            with gr.Tab("Jobs", id="jobs", elem_id="tab-jobs"):
                jobs_tab(gr, store, manager, forms, tabs, offered)
        gr.HTML(
            '<footer class="ac-footer"><a href="/docs" target="_blank">HTTP API</a> · '
            '<a href="/logout" target="_self" id="ac-sign-out">sign out</a> · '
            "jobs also at <code>/api/jobs</code></footer>"
        )
    return blocks


# The forms. Widgets hold the options' declared defaults (`jobs.options`), or stay empty to leave
# them to the job.


def _autopipeline(gr: Any) -> Tab:
    default = _defaults("autopipeline")
    video = gr.Video(label="Video", sources=["upload"], elem_id="autopipeline-video")
    with gr.Row():
        caption = gr.Dropdown(
            [("auto (a vision model with a key, else offline)", "auto"), "offline", "openai",
             ("none (your narration)", "none")], value="auto", label="Narration from",
        )  # fmt: skip
        style = _style(gr)
        engine = gr.Dropdown(list(ENGINES), value="auto", label="Voice engine")
    narration = gr.Textbox(label="Your own narration (instead of describing the video)", lines=2)
    narration_file = gr.File(label="…or your narration as a UTF-8 text file", file_types=[".txt"])
    merge = gr.Checkbox(True, label="Also make the video with its soundtrack (MP4)")
    with gr.Accordion("More settings", open=False):
        with gr.Row():
            prompt = gr.Textbox(label="Music description")
            seed = gr.Number(default("seed"), precision=0, label="Music seed")
            lucky = gr.Checkbox(False, label="Random seed")
            rerank = gr.Slider(1, 8, value=1, step=1, label="Music candidates to rank")
            topk = gr.Slider(1, 8, value=1, step=1, label="Candidates to keep")
        with gr.Row():
            speed = gr.Slider(0.5, 2.0, value=default("speed"), step=0.05, label="Speech speed")
            voice = _voice(gr)
            speaker = gr.Textbox(label="Speaker (multi-speaker voices)")
            language = gr.Textbox(label="Language (e.g. en)")
        with gr.Row():
            target = gr.Number(default("target_lufs"), label="Loudness target (LUFS)")
            peak = gr.Number(default("true_peak"), label="True-peak ceiling (dBTP)")
            ducking = gr.Number(default("ducking_db"), label="Music dip under speech (dB)")
        with gr.Row():
            words = gr.Number(
                default("caption_max_len"), precision=0, label="Narration length (words)"
            )
            frames = gr.Number(
                default("caption_frames"), precision=0, label="Frames the vision model sees"
            )
            model = gr.Textbox(label="Vision model")
            key = gr.Textbox(label="API key (used for this job only)", type="password")
        neural = _neural(gr)
    return Tab("autopipeline", [
        (Field("video", upload=True), video), (Field("caption_backend"), caption),
        (Field("style"), style), (Field("engine"), engine), (Field("narration"), narration),
        (Field("merge_video"), merge), (Field("prompt"), prompt), (Field("seed", cast=int), seed),
        (Field("seed", random=True), lucky), (Field("rerank", cast=int), rerank),
        (Field("rerank_topk", cast=int), topk), (Field("speed"), speed), (Field("voice"), voice),
        (Field("speaker"), speaker), (Field("language"), language),
        (Field("target_lufs"), target), (Field("true_peak"), peak),
        (Field("ducking_db"), ducking), (Field("caption_max_len", cast=int), words),
        (Field("caption_frames", cast=int), frames), (Field("llm_model"), model),
        (Field("api_key"), key), (Field("narration_file", upload=True), narration_file),
        *neural,
    ])  # fmt: skip


def _vidmuse(gr: Any) -> Tab:
    default = _defaults("vidmuse")
    video = gr.Video(label="Video", sources=["upload"], elem_id="vidmuse-video")
    with gr.Row():
        style = _style(gr)
        prompt = gr.Textbox(label="Music description (its words can pick the style)")
    merge = gr.Checkbox(True, label="Also make the video with the music (MP4)")
    with gr.Accordion("More settings", open=False):
        with gr.Row():
            seed = gr.Number(default("seed"), precision=0, label="Seed (same seed, same music)")
            lucky = gr.Checkbox(False, label="Random seed")
            rerank = gr.Slider(1, 8, value=1, step=1, label="Candidates to rank")
            topk = gr.Slider(1, 8, value=1, step=1, label="Candidates to keep")
            duration = _optional(gr, "Length (s)", "the video's")
            target = gr.Number(default("target_lufs"), label="Loudness (LUFS)")
            midi = gr.Checkbox(True, label="Also the score as MIDI")
            report = gr.Checkbox(True, label="Report (JSON: each candidate's scores)")
        neural = _neural(gr)
    return Tab("vidmuse", [
        (Field("video", upload=True), video), (Field("style"), style), (Field("prompt"), prompt),
        (Field("merge_video"), merge), (Field("seed", cast=int), seed),
        (Field("seed", random=True), lucky), (Field("rerank", cast=int), rerank),
        (Field("rerank_topk", cast=int), topk), (Field("duration", cast=_real), duration),
        (Field("target_lufs"), target), (Field("midi_out"), midi), (Field("report"), report),
        *neural,
    ])  # fmt: skip


def _tts(gr: Any) -> Tab:
    default = _defaults("tts")
    text = gr.Textbox(label="Text", lines=5, elem_id="tts-text")
    text_file = gr.File(label="…or a UTF-8 text file", file_types=[".txt"])
    with gr.Row():
        engine = gr.Dropdown(list(ENGINES), value="auto", label="Engine")
        voice = _voice(gr)
        speed = gr.Slider(0.5, 2.0, value=default("speed"), step=0.05, label="Speed")
        subtitles = gr.Checkbox(True, label="Subtitles (.srt)")
    with gr.Accordion("More settings", open=False), gr.Row():
        speaker = gr.Textbox(label="Speaker")
        language = gr.Textbox(label="Language (e.g. en)")
        rate = _optional(gr, "Sample rate (Hz)", "the voice's")
        sentence = gr.Number(default("sentence_pause"), label="Pause between sentences (s)")
        paragraph = gr.Number(default("paragraph_pause"), label="Pause between paragraphs (s)")
        as_written = gr.Checkbox(False, label="Numbers and abbreviations as the voice reads them")
    return Tab("tts", [
        (Field("text"), text), (Field("text_file", upload=True), text_file),
        (Field("engine"), engine), (Field("voice"), voice), (Field("speed"), speed),
        (Field("subtitles"), subtitles),
        (Field("speaker"), speaker), (Field("language"), language),
        (Field("sample_rate", cast=_whole), rate), (Field("sentence_pause"), sentence),
        (Field("paragraph_pause"), paragraph), (Field("as_written"), as_written),
    ])  # fmt: skip


def _mix(gr: Any) -> Tab:
    default = _defaults("mix")
    with gr.Row():
        music = gr.Audio(label="Music", sources=["upload"], type="filepath")
        speech = gr.Audio(label="Narration", sources=["upload"], type="filepath")
    with gr.Row():
        music_at = _optional(gr, "Music starts at (s)", "0")
        speech_at = _optional(gr, "Narration starts at (s)", "0")
        ducking = gr.Number(default("ducking_db"), label="Duck depth (dB)")
        target = gr.Number(default("target_lufs"), label="Loudness target (LUFS)")
        peak = gr.Number(default("true_peak"), label="True-peak ceiling (dBTP)")
    with gr.Accordion("More settings", open=False):
        with gr.Row():
            music_volume = gr.Number(default("music_volume"), label="Music gain")
            speech_volume = gr.Number(default("speech_volume"), label="Narration gain")
            over = gr.Number(
                default("speech_over_music"), label="Music under speech before ducking (LU)"
            )
            attack = gr.Number(default("duck_attack"), label="Duck attack (s)")
            release = gr.Number(default("duck_release"), label="Duck release (s)")
            hold = gr.Number(default("duck_hold"), label="Duck hold (s)")
        with gr.Row():
            fit = gr.Dropdown(list(_choices("mix", "music_fit")), value=default("music_fit"),
                              label="Music too short")  # fmt: skip
            crossfade = gr.Number(default("crossfade"), label="Loop crossfade (s)")
            fade_in = gr.Number(default("fade_in"), label="Fade in (s)")
            fade_out = gr.Number(default("fade_out"), label="Fade out (s)")
            duration = _optional(gr, "Length (s)", "the speech's, else the music's")
        with gr.Row():
            rate = gr.Number(default("sample_rate"), precision=0, label="Sample rate")
            channels = gr.Radio(list(_choices("mix", "channels")), value=default("channels"),
                                label="Channels")  # fmt: skip
            depth = gr.Radio(list(_choices("mix", "bit_depth")), value=default("bit_depth"),
                             label="Bit depth")  # fmt: skip
            report = gr.Checkbox(True, label="Report (JSON)")
    return Tab("mix", [
        (Field("music", upload=True), music), (Field("speech", upload=True), speech),
        (Field("music_start", start_of="music"), music_at),
        (Field("speech_start", start_of="speech"), speech_at), (Field("ducking_db"), ducking),
        (Field("target_lufs"), target), (Field("true_peak"), peak),
        (Field("music_volume"), music_volume), (Field("speech_volume"), speech_volume),
        (Field("speech_over_music"), over), (Field("duck_attack"), attack),
        (Field("duck_release"), release), (Field("duck_hold"), hold), (Field("music_fit"), fit),
        (Field("crossfade"), crossfade), (Field("fade_in"), fade_in),
        (Field("fade_out"), fade_out), (Field("duration", cast=_real), duration),
        (Field("sample_rate", cast=int), rate), (Field("channels", cast=int), channels),
        (Field("bit_depth", cast=int), depth), (Field("report"), report),
    ])  # fmt: skip


def _wavjourney(gr: Any) -> Tab:
    default = _defaults("wavjourney")
    instruction = gr.Textbox(label="What the audio should be", lines=3)
    script = gr.File(label="…or a hand-written script (JSON)", file_types=[".json"])
    video = gr.Video(label="A video to follow (optional)", sources=["upload"])
    with gr.Row():
        planner = gr.Dropdown(
            [("auto (an LLM with a key, else rules)", "auto"), "llm", "rules"], value="auto",
            label="Planner",
        )  # fmt: skip
        merge = gr.Checkbox(False, label="Also make the video with the mix (MP4)")
    with gr.Accordion("More settings", open=False), gr.Row():
        seed = gr.Number(default("seed"), precision=0, label="Seed")
        lucky = gr.Checkbox(False, label="Random seed")
        target = gr.Number(default("target_lufs"), label="Loudness target (LUFS)")
        peak = gr.Number(default("true_peak"), label="True-peak ceiling (dBTP)")
        ducking = gr.Number(default("ducking_db"), label="Background dip under speech (dB)")
        model = gr.Textbox(label="LLM model")
        key = gr.Textbox(label="API key (used for this job only)", type="password")
    return Tab("wavjourney", [
        (Field("instruction"), instruction), (Field("script", upload=True), script),
        (Field("video", upload=True), video), (Field("planner"), planner),
        (Field("merge_video"), merge), (Field("seed", cast=int), seed),
        (Field("seed", random=True), lucky), (Field("target_lufs"), target),
        (Field("true_peak"), peak),
        (Field("ducking_db"), ducking), (Field("llm_model"), model), (Field("api_key"), key),
    ])  # fmt: skip


def _neural(gr: Any) -> list[tuple[Field, Any]]:
    """The music backend, the neural ones' weights (from the catalogue, on the server), how they
    sample and where they run."""
    from audio_creator.models import CATALOGUE

    default = _defaults("vidmuse")
    with gr.Row():
        backend = gr.Dropdown(
            [("auto (a neural model when its weights are here)", "auto"), "procedural",
             "musicgen", "vidmuse"], value="auto", label="Music backend",
        )  # fmt: skip
        weights = gr.Dropdown([("the backend's default", ""), *[(n, n) for n in CATALOGUE]],
                              value="", label="Weights (neural)")  # fmt: skip
        device = gr.Dropdown(list(_choices("vidmuse", "device")), value=default("device"),
                             label="Runs on (neural)")  # fmt: skip
    with gr.Row():
        top_k = gr.Number(default("top_k"), precision=0, label="Top-k (neural)")
        top_p = gr.Number(default("top_p"), label="Top-p, 0 = off (neural)")
        temperature = gr.Number(default("temperature"), label="Temperature (neural)")
        cfg = gr.Number(default("cfg_coef"), label="Guidance (neural)")
    return [
        (Field("backend"), backend), (Field("music_model"), weights), (Field("device"), device),
        (Field("top_k", cast=int), top_k), (Field("top_p"), top_p),
        (Field("temperature"), temperature), (Field("cfg_coef"), cfg),
    ]  # fmt: skip


def _defaults(mode: str) -> Callable[[str], Any]:
    """`default(name)`: an option's default as its declaration gives it (`jobs.options`)."""
    declared = commands.defaults(mode)

    def default(name: str) -> Any:
        return declared[name]

    return default


def _choices(mode: str, name: str) -> tuple[Any, ...]:
    choices = next(f.spec.choices for f in JOBS[mode].fields() if f.name == name)
    assert choices is not None
    return choices


def _optional(gr: Any, label: str, placeholder: str) -> Any:
    """A number the command works out when it is left empty. A text field: Gradio's number field
    turns empty into 0 once it is shown, and 0 is not "work it out"."""
    return gr.Textbox(label=label, placeholder=placeholder, max_lines=1)


def _voice(gr: Any) -> Any:
    """The voices installed in the server's models folder (`audio-creator voices` lists them)."""
    choices = [("the engine's default", ""), *[(n, n) for n in commands.installed_voices()]]
    return gr.Dropdown(choices, value="", label="Voice")


def _style(gr: Any) -> Any:
    choices = [("auto (from the video)", ""), *[(name, name) for name in STYLE_NAMES]]
    return gr.Dropdown(choices, value="", label="Music style")


# Running a tab's job and following it.


def uploaded_file(blocks: Any, value: Any) -> Path:
    """The file of a form's upload, if it came in through this server's upload route: a regular
    file (after links are followed) in Gradio's upload folder that the route handed out. A page
    (or a script posing as one) can name any path in a request; no other path reaches a job.

    Raises:
        service.Refused: anything else.
    """
    import os

    from gradio.utils import get_upload_folder

    named = str(value.get("path", "")) if isinstance(value, dict) else str(value or "")
    folder = os.path.realpath(get_upload_folder())
    real = os.path.realpath(named)
    handed_out = named in blocks.upload_file_set  # exactly as the route named it
    inside = os.path.isabs(named) and os.path.commonpath([folder, real]) == folder
    if not (handed_out and inside and service.is_plain_file(Path(named))):
        raise service.Refused(403, "a file reaches a job only by being uploaded to this page")
    return Path(real)


def _job_panel(
    gr: Any, tab: Tab, store: JobStore, manager: JobManager, uploaded: Callable[[Any], Path]
) -> None:
    mode = tab.mode
    with gr.Row():
        run = gr.Button("Run", variant="primary", elem_id=f"{mode}-run")
        cancel = gr.Button("Cancel", variant="stop", elem_id=f"{mode}-cancel")
    view = result_view(gr, store, mode, mode)
    job_id = gr.State("")
    tab.reuse = gr.State({})

    async def follow(*values: Any) -> AsyncIterator[list[Any]]:
        *fields, reuse = values
        job = await asyncio.to_thread(_submit, tab, tuple(fields), store, manager, uploaded, reuse)
        yield [job.id, *view.values(gr, status_html(store, job), "", Results())]
        while True:
            current = store.get(job.id) or job
            now = (status_html(store, current), log_text(store, job.id))
            if current.status in FINISHED:
                with handed_over(store, current) as results:  # copied before it asks for more
                    yield [job.id, *view.values(gr, *now, results)]
                return
            yield [job.id, *view.values(gr, *now, None)]
            await asyncio.sleep(POLL_S)

    def stop(current: str) -> None:
        if current:
            manager.cancel(current)

    run.click(
        follow, [*(w for _, w in tab.fields), tab.reuse], [job_id, *view.outputs],
        concurrency_limit=None, api_visibility="private",
    )  # fmt: skip
    cancel.click(stop, [job_id], None, concurrency_limit=None, api_visibility="private")


def _submit(
    tab: Tab, values: tuple[Any, ...], store: JobStore, manager: JobManager,
    uploaded: Callable[[Any], Path], reuse: dict[str, Path] | None = None,
) -> Job:  # fmt: skip
    """Take a tab's job in as the API does; a refusal is shown as an error.

    A field left empty, or holding the command's own default, is left out: the command's default
    applies, and the job's parameters say only what the user chose."""
    import gradio as gr

    params: dict[str, Any] = {}
    files: dict[str, Path] = {}
    defaults = commands.defaults(tab.mode)
    try:
        for (field, _), value in zip(tab.fields, values, strict=True):
            if value is None or value == "" or value is False:
                continue
            if field.upload:
                files[field.dest] = _upload_or_kept(field.dest, value, uploaded, reuse or {})
                params[field.dest] = field.dest
            elif field.random:
                params[field.dest] = secrets.randbelow(2**31)  # shown with the job's results
            elif field.start_of is None and field.dest not in params:  # a random one stays
                chosen = field.cast(value) if field.cast else value
                if chosen is not None and chosen != defaults.get(field.dest):
                    params[field.dest] = chosen
        for (field, _), value in zip(tab.fields, values, strict=True):  # starts after files
            if field.start_of and field.start_of in params and value not in (None, ""):
                params[field.start_of] = f"{field.start_of}@{_number(value, float):g}"
        with service.receiving(store, tab.mode, params, list(files)) as intake:
            for name, source in files.items():
                path = service.upload_path(store, intake.job, name, source.name)
                service.place_file(source, path)
                intake.uploads[name] = path
            return service.queue_job(store, manager, intake)
    except service.Refused as exc:
        raise gr.Error(exc.detail) from None


def _upload_or_kept(
    dest: str, value: Any, uploaded: Callable[[Any], Path], reuse: dict[str, Path]
) -> Path:
    """A new upload of this page, else the kept input of the job run again with changes (the
    page shows a copy of it, which it may have converted): never any other file."""
    try:
        return uploaded(value)
    except service.Refused:
        if dest in reuse and service.is_plain_file(reuse[dest]):
            return reuse[dest]
        raise


def _number(value: Any, kind: Callable[[Any], Any]) -> Any:
    """A form's number (typed as text where the field may stay empty); empty: None."""
    text = str(value).strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        raise service.Refused(422, f"{text!r} is not a number") from None
    if kind is int and not number.is_integer():
        raise service.Refused(422, f"{text!r} is not a whole number")
    return kind(number)


def _whole(value: Any) -> Any:
    return _number(value, int)


def _real(value: Any) -> Any:
    return _number(value, float)
