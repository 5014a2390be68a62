"""``cryotm plugins``: list the plugins, their versions and what each contributes."""

from __future__ import annotations

import argparse

from ..plugins import AUTOLOAD_ENV_VAR, failed_plugins, plugin_infos


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plugins",
        help="list plugins and what they provide",
        description="List cryotm's built-in and installed plugins, with their versions and the "
        f"threshold rules, labelers and formats each provides. Set {AUTOLOAD_ENV_VAR}=1 to skip "
        "installed plugins.",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    for info in plugin_infos():
        origin = "built-in" if info.builtin else "plugin"
        print(f"{info.name} {info.version} ({origin})")
        for kind, names in info.provides.items():
            print(f"    {kind}: {', '.join(names)}")
    failed = failed_plugins()
    for item in failed:
        print(f"FAILED {item.name} ({item.distribution}): {item.error}")
    return 1 if failed else 0
