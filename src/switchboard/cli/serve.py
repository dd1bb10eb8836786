"""``switchboard serve``: run the server until SIGINT or SIGTERM.

The settings come from the flags (one per setting, :mod:`switchboard.server.flags`), the
environment and a TOML file; the server itself is imported only when the command runs.

This is the composition root of a server process: :func:`build_server` decides what kind of node
it is. With ``store_url`` it builds the cluster's account placement
(:class:`~switchboard.cluster.placement.ClusterPlacement`) and hands it to the server, which
knows nothing of the cluster; without it the server watches every account itself.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from switchboard.runloop import run_async, run_until_signalled
from switchboard.server.flags import add_setting_flags, flag_overrides

if TYPE_CHECKING:
    from switchboard.engine.settings import EngineSettings
    from switchboard.server.app import SwitchboardServer
    from switchboard.server.config import ServerSettings

__all__ = ["add_serve_command", "build_server"]


def add_serve_command(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``serve`` on the ``switchboard`` command's subparsers and return its parser.

    Args:
        subparsers: what ``ArgumentParser.add_subparsers()`` returned.
    """
    serve = subparsers.add_parser(
        "serve",
        help="run the server",
        description=(
            "Run the Switchboard server. Each setting below is also SWITCHBOARD_<NAME> in the "
            "environment (SWITCHBOARD_IMAP_CA_FILE) and a key of a TOML file (--config); the "
            "command line wins over the environment, which wins over the file. secret_key and "
            "oauth_providers are environment/file only."
        ),
    )
    serve.add_argument("--config", type=Path, help="TOML config file")
    add_setting_flags(serve)
    serve.set_defaults(func=_serve)
    return serve  # type: ignore[no-any-return]


def build_server(
    settings: ServerSettings, *, engine_settings: EngineSettings | None = None
) -> SwitchboardServer:
    """The server ``switchboard serve`` runs for ``settings``: a cluster node with ``store_url``.

    Raises:
        MissingExtraError: ``store_url`` is set but asyncpg (the ``postgres`` extra) is missing.
    """
    from switchboard.server.app import SwitchboardServer

    if settings.store_url is None:
        return SwitchboardServer(settings, engine_settings=engine_settings)
    from switchboard.extras import require

    require("asyncpg", "the PostgreSQL store (--store postgresql://…)")
    from switchboard.cluster.placement import ClusterPlacement

    placement = ClusterPlacement(
        settings.store_url, settings.resolved_node_id(), lease_ttl_s=settings.lease_ttl_s
    )
    return SwitchboardServer(settings, engine_settings=engine_settings, placement=placement)


def _serve(args: argparse.Namespace) -> int:
    from switchboard import __version__
    from switchboard.server.config import load_settings

    settings = load_settings(
        config_file=args.config, environ=os.environ, overrides=flag_overrides(args)
    )
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    async def serve_until_signalled() -> None:
        server = build_server(settings)
        await server.start()
        where = f"data in {settings.data_dir}"
        if server.node_id is not None:
            where = f"cluster node {server.node_id}, shared store"

        def announce() -> None:
            # One line, first on stdout: scripts and tests read the port from it.
            ws, web = ("wss", "https") if server.secure else ("ws", "http")
            address = f"{settings.host}:{server.port}"
            print(
                f"switchboard {__version__} listening on {ws}://{address}/workers and /clients, "
                f"JMAP at {web}://{address}/.well-known/jmap ({where})",
                flush=True,
            )

        try:
            await run_until_signalled(ready=announce)  # a clean stop: LOGOUT, state flushed
        finally:
            await server.stop()

    run_async(serve_until_signalled)
    return 0
