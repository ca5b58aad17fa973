"""Commands about the API: serve it, and call it."""

from __future__ import annotations

import argparse
import errno
import logging
import os
from typing import TYPE_CHECKING, Any

from riskwatch.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    emit,
    positive_int,
    scipy_special_first,
    settings_of,
)

if TYPE_CHECKING:
    import socket

log = logging.getLogger(__name__)


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Register serve and apicalls."""
    serve = commands.add_parser(
        "serve", parents=[common], help="serve predictions, metrics and the call list over HTTP"
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine)"
    )
    serve.add_argument("--port", type=_port, default=8000, help="port (default 8000)")
    serve.add_argument("--workers", type=positive_int, default=1, help="worker processes")
    serve.add_argument(
        "--no-access-log", dest="access_log", action="store_false", help="log no request lines"
    )
    serve.set_defaults(command=_serve)
    calls = commands.add_parser(
        "apicalls",
        parents=[common],
        help="call every API endpoint with the workspace's data; write reports/apireturns.*",
    )
    calls.add_argument("--url", help="the API's address (default: setting api_url)")
    calls.add_argument("--json", action="store_true", help="print the result as JSON")
    calls.set_defaults(command=_apicalls)


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port (0 to 65535)")
    return value


def _serve(args: argparse.Namespace) -> int:
    scipy_special_first()  # before the app's imports: the model loads through skops
    import uvicorn  # noqa: PLC0415 - heavy, only to serve

    from riskwatch.api.app import CONFIG_ENV, create_app  # noqa: PLC0415
    from riskwatch.api.workers import Workers, metrics_directory  # noqa: PLC0415

    settings = settings_of(args)  # a bad configuration stops here, before binding
    options: dict[str, Any] = {"host": args.host, "port": args.port, "access_log": args.access_log}
    if args.workers == 1:
        config = uvicorn.Config(create_app(settings), **options)
    else:  # worker processes build their own app, from the same config file
        os.environ[CONFIG_ENV] = str(settings.config_file)
        target = "riskwatch.api.app:app_from_environment"
        config = uvicorn.Config(target, factory=True, workers=args.workers, **options)
    # Bound here, not by uvicorn: a busy port is then said plainly, with exit 1 (uvicorn exits 3,
    # which riskwatch reserves for "another cycle holds the lock"), and "serving" is only
    # printed once the address is ours.
    sock = _bind(args.host, args.port)
    if sock is None:
        return EXIT_FAILED
    log.info("serving %s on http://%s:%d (docs at /docs)", settings.workspace, args.host, args.port)
    with sock:
        try:
            if args.workers == 1:
                uvicorn.Server(config).run(sockets=[sock])
            else:  # the workers' metrics directory is set before they start, and wiped
                with metrics_directory():
                    Workers(config, sockets=[sock]).run()
        except KeyboardInterrupt:
            pass
    return EXIT_OK


def _bind(host: str, port: int) -> socket.socket | None:
    """A TCP socket bound to host:port as uvicorn binds it; None (and why) when it cannot be."""
    import socket  # noqa: PLC0415 - every command imports this module, only serve binds

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and
    # without it an answer's body waits on Nagle's algorithm (milliseconds a request).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if exc.errno == errno.EADDRINUSE:
            log.error(
                "error: cannot serve on %s: the port is already in use (another riskwatch serve, "
                "or another program); stop it, or choose another port with --port",
                shown,
            )
        else:
            log.error(
                "error: cannot serve on %s: %s (check --host and --port)", shown, exc.strerror
            )
        return None
    return sock


def _apicalls(args: argparse.Namespace) -> int:
    from riskwatch.apicalls import call_api  # noqa: PLC0415 - heavy

    returns = call_api(settings_of(args), args.url)
    emit(args, returns.to_dict(), returns.summary())
    failure = returns.failure()
    if failure:
        log.error("error: %s; %s left as it was", failure, returns.paths[0])
        return EXIT_FAILED
    return EXIT_OK
