"""``cryotm plugins``: list the plugins, their versions and what each contributes."""

from __future__ import annotations

import argparse

from .._env import AUTOLOAD_ENV_VAR, BLOCK_ENV_VAR


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plugins",
        help="list plugins and what they provide",
        description="List cryotm's built-in and installed plugins, with their versions and the "
        "threshold rules, labelers and formats each provides, and the plugins that failed (exit "
        f"status 1). Set {AUTOLOAD_ENV_VAR}=1 to skip installed plugins, {BLOCK_ENV_VAR}=A,B (or "
        "cryotm -p no:A) to skip some.",
    )
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="one line per threshold, labeler and format, with its description")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..plugins import failed_plugins, plugin_infos

    for info in plugin_infos():
        origin = "built-in" if info.builtin else "plugin"
        print(f"{info.name} {info.version} ({origin})")
        for kind, names in info.provides.items():
            if args.verbose:
                for name in names:
                    description = info.descriptions.get(name, "")
                    print(f"    {kind} {name}" + (f": {description}" if description else ""))
            else:
                print(f"    {kind}: {', '.join(names)}")
        if info.overrides:
            print(f"    overrides built-in {', '.join(info.overrides)}")
    failed = failed_plugins()
    for item in failed:
        origin = f" ({item.distribution})" if item.distribution else ""
        print(f"FAILED {item.name}{origin}: {item.error}")
    return 1 if failed else 0
