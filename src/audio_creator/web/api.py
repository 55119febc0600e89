"""The HTTP API (FastAPI; OpenAPI docs at /docs): jobs in, progress and files out.

POST /api/jobs                      a job: `mode`, `params` (JSON), and the files it reads
GET  /api/jobs, /api/jobs/{id}      status, progress 0–1, stage, log tail, artifacts
GET  /api/jobs/{id}/events          server-sent events: progress and log lines as they come
GET  /api/jobs/{id}/artifacts/{name}  a result (HTTP range requests, so players can seek)
DELETE /api/jobs/{id}               cancel a queued or running job
POST /api/jobs/{id}/resubmit        run an interrupted, failed or cancelled job again
GET  /api/health                    liveness, queue and worker figures
"""

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from audio_creator.web import commands, guard, service
from audio_creator.web.jobs import JobManager
from audio_creator.web.service import SAFE_NAME
from audio_creator.web.store import FINISHED, Job, JobStore

LOG_TAIL_LINES = 40
MIN_TOKEN_CHARS = 16  # below this, the server warns at start
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerSettings:
    """How the server runs. `token` None: one is made at start (and printed), unless `insecure`
    asks for none. `allowed_hosts`: names clients may reach it by, beyond loopback ("*": any)."""

    data_dir: Path
    token: str | None = None
    workers: int = 2
    queue_limit: int = 50
    max_upload_bytes: int = 2 * 1024**3
    retention_s: float = 7 * 24 * 3600
    cors_origins: tuple[str, ...] = ()
    insecure: bool = False  # no token at all (explicitly asked for)
    allowed_hosts: tuple[str, ...] = ()
    ui: bool = True  # the web UI at / (Gradio), beside the API


def create_app(settings: ServerSettings, *, announce: bool = True) -> Any:
    """The FastAPI application, with its job manager started on startup and stopped on shutdown.
    With `announce`, a token it made is logged at start (`serve` prints its own address)."""
    from contextlib import asynccontextmanager

    from fastapi import FastAPI, Request
    from fastapi.middleware.cors import CORSMiddleware
    from fastapi.responses import FileResponse, JSONResponse, StreamingResponse

    token = settings.token or (None if settings.insecure else guard.new_token())

    store = JobStore(settings.data_dir)
    manager = JobManager(
        store, workers=settings.workers, queue_limit=settings.queue_limit,
        retention_s=settings.retention_s,
    )  # fmt: skip

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if token is None:
            logger.warning("no token: anyone who reaches this server can use it (--insecure)")
        elif settings.token and len(settings.token) < MIN_TOKEN_CHARS:
            logger.warning(
                "AUDIO_CREATOR_TOKEN has %d characters: a short token can be guessed; use %d or "
                "more (python3 -c 'import secrets; print(secrets.token_hex(24))')",
                len(settings.token), MIN_TOKEN_CHARS,
            )  # fmt: skip
        elif not settings.token and announce:
            logger.warning("this server's token (sign in with it, or open /?token=%s)", token)
        manager.start()
        yield
        manager.stop()

    app = FastAPI(
        title="Audio Creator", version="1", lifespan=lifespan, docs_url=None, redoc_url=None
    )
    app.state.manager = manager
    app.state.token = token
    # Closed unless origins are configured; with it in place, Gradio adds no CORS of its own.
    app.add_middleware(
        CORSMiddleware, allow_origins=list(settings.cors_origins),
        allow_methods=["GET", "POST", "DELETE"], allow_headers=["Authorization"],
    )  # fmt: skip
    policy = guard.Policy(
        token=token, allowed_hosts=frozenset(h.lower() for h in settings.allowed_hosts),
        cors_origins=settings.cors_origins, max_upload_bytes=settings.max_upload_bytes,
    )  # fmt: skip
    app.add_middleware(guard.Guard, policy=policy)  # outermost: before anything else runs
    access_log = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, guard.TokenScrubber) for f in access_log.filters):
        access_log.addFilter(guard.TokenScrubber())  # a ?token= link is not written to the log

    def problem(status: int, detail: str) -> Any:
        return JSONResponse({"detail": detail}, status_code=status)

    @app.get("/api/health")
    def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "queued": store.count("queued"),
            "running": store.count("running"),
            "workers": settings.workers,
            "queue_limit": settings.queue_limit,
        }

    @app.get("/api/modes")
    def modes() -> dict[str, Any]:
        """Each mode's `params` as a JSON schema: every option, its type, default, bounds and
        choices, as the job's options declare them (the same the command line takes)."""
        return {mode: commands.params_schema(mode) for mode in commands.MODES}

    @app.post("/api/jobs", status_code=201, openapi_extra=SUBMIT_SCHEMA, responses=REFUSALS)
    async def submit(request: Request) -> Any:
        """Queue a job: `mode`, `params` (the command's options by name, as JSON) and the files
        it reads, each under the field name that `params` gives it."""
        form = await request.form(max_part_size=settings.max_upload_bytes)
        try:
            params = json.loads(str(form.get("params") or "{}"))
        except ValueError:
            return problem(422, "params must be a JSON object")
        files = [name for name, value in form.multi_items() if hasattr(value, "read")]
        try:
            with service.receiving(store, str(form.get("mode") or ""), params, files) as intake:
                await _save_uploads(store, intake, form)
                job = await asyncio.to_thread(service.queue_job, store, manager, intake)
        except service.Refused as exc:
            return problem(exc.status, exc.detail)
        return _describe(store, job)

    @app.get("/api/jobs")
    def jobs() -> list[dict[str, Any]]:
        return [_describe(store, job, log=False) for job in store.recent()]

    @app.get("/api/jobs/{job_id}")
    def job(job_id: str) -> Any:
        found = store.get(job_id) if SAFE_NAME.match(job_id) else None
        return _describe(store, found) if found else problem(404, "no such job")

    @app.delete("/api/jobs/{job_id}")
    def cancel(job_id: str) -> Any:
        found = store.get(job_id) if SAFE_NAME.match(job_id) else None
        if found is None:
            return problem(404, "no such job")
        if not manager.cancel(job_id):
            return problem(409, f"the job has already ended ({found.status})")
        return _describe(store, store.get(job_id))

    @app.post(
        "/api/jobs/{job_id}/resubmit", status_code=201, openapi_extra=RESUBMIT_SCHEMA,
        responses=REFUSALS,
    )  # fmt: skip
    async def resubmit(job_id: str, request: Request) -> Any:
        """Run an interrupted, failed or cancelled job again (once), with its parameters and
        files; an `api_key` field where it used one."""
        form = await request.form()
        hidden = {"api_key": str(form["api_key"])} if form.get("api_key") else {}
        try:
            job = await asyncio.to_thread(service.resubmit, store, manager, job_id, hidden)
        except service.Refused as exc:
            return problem(exc.status, exc.detail)
        return _describe(store, job)

    @app.get("/api/jobs/{job_id}/artifacts/{name}")
    def artifact(job_id: str, name: str) -> Any:
        if not (SAFE_NAME.match(job_id) and SAFE_NAME.match(name)):
            return problem(404, "no such artifact")
        found = store.get(job_id)
        path = store.folder(job_id) / "out" / name
        if found is None or name not in service.artifacts(store, found):
            return problem(404, "no such artifact")
        return FileResponse(path, filename=name)

    @app.get("/api/jobs/{job_id}/events")
    async def events(job_id: str) -> Any:
        if not SAFE_NAME.match(job_id) or store.get(job_id) is None:
            return problem(404, "no such job")

        async def stream() -> AsyncIterator[str]:
            seen = 0
            while True:
                current = store.get(job_id)
                if current is None:
                    return
                lines = service.log_lines(store, job_id)
                for line in lines[seen:]:
                    yield f"event: log\ndata: {json.dumps(line)}\n\n"
                seen = len(lines)
                state = {k: getattr(current, k) for k in ("status", "progress", "stage")}
                yield f"event: progress\ndata: {json.dumps(state)}\n\n"
                if current.status in FINISHED:
                    return
                await asyncio.sleep(0.5)

        return StreamingResponse(stream(), media_type="text/event-stream")

    _serve_docs(app)
    if settings.ui:
        _mount_ui(app, settings, store, manager)
    return app


def _serve_docs(app: Any) -> None:
    """/docs: Swagger UI from files on this server (no CDN: it works offline), with the bearer
    scheme in the schema so that "Authorize" takes the token."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.openapi.utils import get_openapi
    from fastapi.responses import PlainTextResponse

    def schema() -> dict[str, Any]:
        if app.openapi_schema is None:
            made = get_openapi(title=app.title, version=app.version, routes=app.routes)
            made.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "the server's token (printed when it starts)"},
            }  # fmt: skip
            made["security"] = [{"bearer": []}]
            app.openapi_schema = made
        return app.openapi_schema  # type: ignore[no-any-return]

    app.openapi = schema
    try:
        from importlib.resources import files

        from fastapi.staticfiles import StaticFiles

        assets = files("fastapi_offline") / "static"
        app.mount("/docs-assets", StaticFiles(directory=str(assets)), name="docs-assets")
    except ImportError:
        note = (
            "The API's docs page needs: pip install fastapi-offline. The schema is /openapi.json\n"
        )
        app.add_api_route("/docs", lambda: PlainTextResponse(note), include_in_schema=False)
        return

    def docs() -> Any:
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title="Audio Creator: HTTP API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon.png",
        )  # fmt: skip

    app.add_api_route("/docs", docs, include_in_schema=False)


def _submit_schema() -> dict[str, Any]:
    from audio_creator.web.commands import MODES

    example = {"text": "Hello from the API.", "subtitles": True}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {
        "schema": {
            "type": "object", "required": ["mode"],
            "properties": {
                "mode": {"type": "string", "enum": list(MODES), "description": "what to make"},
                "params": {
                    "type": "string", "default": "{}", "example": json.dumps(example),
                    "description": "a JSON object: the command's options by name (those of "
                    "`audio-creator MODE --help`, with `_` for `-`); an option that reads a "
                    "file takes the name of a file field sent with the job (`\"video\": "
                    "\"clip\"` and a field `clip`); outputs are the server's to name",
                },
            },
            "additionalProperties": {"type": "string", "format": "binary",
                                     "description": "a file the job reads"},
        },
        "encoding": {"params": {"contentType": "application/json"}},
    }}}}  # fmt: skip


SUBMIT_SCHEMA = _submit_schema()
RESUBMIT_SCHEMA: dict[str, Any] = {"requestBody": {"required": False, "content": {
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "api_key": {"type": "string", "description": "for a job that used one (never stored)"},
    }}},
}}}  # fmt: skip
REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no token, or a wrong one"},
    403: {"description": "another site's page, or a host this server does not answer to"},
    404: {"description": "no such job"},
    409: {"description": "the job cannot do that now (ended already; run again already)"},
    413: {"description": "the request is larger than AUDIO_CREATOR_MAX_UPLOAD_MB"},
    415: {"description": "an upload is not what its option takes (probed by content)"},
    422: {"description": "an unknown mode or option, or a value the command refuses"},
    429: {"description": "the queue is full"},
}


def _mount_ui(app: Any, settings: ServerSettings, store: JobStore, manager: JobManager) -> None:
    """The Gradio UI at /, or a page that says how to get it where Gradio is not installed."""
    try:
        import gradio  # noqa: F401
    except ImportError:
        from fastapi.responses import PlainTextResponse

        note = "The web UI needs Gradio: pip install 'audio-creator[web]'. The API is at /docs.\n"
        app.add_api_route("/", lambda: PlainTextResponse(note), include_in_schema=False)
        return
    from audio_creator.web import ui

    ui.mount(app, store, manager, settings.max_upload_bytes)


def settings_from_env(
    *, insecure: bool = False, allowed_hosts: tuple[str, ...] = (),
    cors_origins: tuple[str, ...] = (),
) -> ServerSettings:  # fmt: skip
    """Server settings from the environment: AUDIO_CREATOR_DATA (jobs folder, default
    ~/.cache/audio-creator/jobs), AUDIO_CREATOR_TOKEN, AUDIO_CREATOR_WORKERS,
    AUDIO_CREATOR_QUEUE_LIMIT, AUDIO_CREATOR_MAX_UPLOAD_MB, AUDIO_CREATOR_RETENTION_DAYS,
    AUDIO_CREATOR_CORS and AUDIO_CREATOR_ALLOWED_HOSTS (comma-separated); the arguments add to the
    last two."""
    import os

    env = os.environ

    def listed(name: str) -> tuple[str, ...]:
        return tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())

    data = env.get("AUDIO_CREATOR_DATA") or str(Path.home() / ".cache" / "audio-creator" / "jobs")
    try:
        return ServerSettings(
            data_dir=Path(data).expanduser(),
            token=env.get("AUDIO_CREATOR_TOKEN") or None,
            workers=int(env.get("AUDIO_CREATOR_WORKERS", "2")),
            queue_limit=int(env.get("AUDIO_CREATOR_QUEUE_LIMIT", "50")),
            max_upload_bytes=int(float(env.get("AUDIO_CREATOR_MAX_UPLOAD_MB", "2048")) * 2**20),
            retention_s=float(env.get("AUDIO_CREATOR_RETENTION_DAYS", "7")) * 86400,
            cors_origins=listed("AUDIO_CREATOR_CORS") + cors_origins,
            allowed_hosts=listed("AUDIO_CREATOR_ALLOWED_HOSTS") + allowed_hosts,
            insecure=insecure,
        )
    except ValueError as exc:
        from audio_creator.errors import ConfigError

        raise ConfigError(f"a server setting in the environment is not a number: {exc}") from exc


async def _save_uploads(store: JobStore, intake: service.Intake, form: Any) -> None:
    """Every file of the form, saved in the job's `in/` folder under its field's name; refuses
    unsafe names. (Sizes were bounded as the body streamed in: `web.guard`.)"""
    for field, value in form.multi_items():
        if not hasattr(value, "read"):
            continue
        filename = getattr(value, "filename", "") or ""
        target = service.upload_path(store, intake.job, field, filename)
        with target.open("wb") as out:
            while chunk := await value.read(1 << 20):
                out.write(chunk)
        intake.uploads[field] = target


def _describe(store: JobStore, job: Job | None, *, log: bool = True) -> dict[str, Any]:
    if job is None:
        return {}
    described = asdict(job)
    if job.error:
        described["error"] = service.public_text(store, job.id, job.error)
    described["artifacts"] = [
        {"name": name, "url": f"/api/jobs/{job.id}/artifacts/{name}"}
        for name in service.artifacts(store, job)
    ]
    if log:
        described["log_tail"] = service.log_lines(store, job.id)[-LOG_TAIL_LINES:]
    return described
