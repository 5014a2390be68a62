"""The plugin manager: cryotm's built-ins and third-party plugins, found the same way.

cryotm's own threshold strategies, labelers, map formats and particle-list
formats are the modules in :data:`DEFAULT_PLUGINS`, registered through the
hooks in :mod:`cryotm.hookspecs` exactly like a third-party plugin. Third-party
plugins are found through the ``cryotm`` entry-point group::

    [project.entry-points.cryotm]
    myformat = "my_package.cryotm_plugin"

Set the environment variable ``CRYOTM_DISABLE_PLUGIN_AUTOLOAD`` (to anything
but an empty string or ``0``) to skip the entry points; the built-ins are
always loaded. A plugin that fails to import is recorded in
:func:`failed_plugins` and reported by name; it does not stop cryotm.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from importlib.metadata import entry_points
from typing import Any

import attrs
import pluggy

from . import hookspecs
from ._version import __version__
from .errors import CryotmError, PluginError

__all__ = [
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "AUTOLOAD_ENV_VAR",
    "hookimpl",
    "get_plugin_manager",
    "reset_plugin_manager",
    "failed_plugins",
    "Contribution",
    "contributions",
    "lookup",
    "plugin_infos",
]

hookimpl = pluggy.HookimplMarker("cryotm")

ENTRY_POINT_GROUP = "cryotm"
AUTOLOAD_ENV_VAR = "CRYOTM_DISABLE_PLUGIN_AUTOLOAD"

#: cryotm's own features, registered through the same hooks as any plugin.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "cryotm.maps.builtin",
    "cryotm.thresholds.builtin",
    "cryotm.labeling.builtin",
    "cryotm.formats.builtin",
    "cryotm.geometry.builtin",
)

#: hook name -> the kind of thing it contributes, as users call it.
HOOK_KINDS: dict[str, str] = {
    "cryotm_threshold_strategies": "threshold",
    "cryotm_labelers": "labeler",
    "cryotm_motl_writers": "writer",
    "cryotm_motl_readers": "reader",
    "cryotm_map_formats": "map format",
    "cryotm_alignment_readers": "alignment reader",
    "cryotm_pick_filters": "pick filter",
    "cryotm_batch_sources": "batch source",
}


@attrs.frozen
class FailedPlugin:
    """A plugin that could not be loaded: its entry-point name, distribution and error."""

    name: str
    distribution: str
    error: str


@attrs.frozen
class Contribution:
    """One class a plugin contributes to a hook."""

    name: str
    obj: Any
    plugin: str
    hook: str


_manager: pluggy.PluginManager | None = None
_failed: list[FailedPlugin] = []
_versions: dict[str, str] = {}


def _autoload_disabled() -> bool:
    value = os.environ.get(AUTOLOAD_ENV_VAR, "")
    return value not in ("", "0")


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        dist_name = f"{dist.name} {dist.version}" if dist is not None else "?"
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
        except Exception as exc:  # a broken plugin must not take cryotm down
            _failed.append(FailedPlugin(ep.name, dist_name, f"{type(exc).__name__}: {exc}"))
            continue
        _versions[ep.name] = dist.version if dist is not None else "?"


def get_plugin_manager() -> pluggy.PluginManager:
    """Return the process-wide plugin manager, creating it on first use.

    Returns
    -------
    pluggy.PluginManager
        With the built-ins and (unless disabled) the entry-point plugins
        registered. Further plugins may be added with ``pm.register(obj)``.
    """
    global _manager
    if _manager is None:
        pm = pluggy.PluginManager("cryotm")
        pm.add_hookspecs(hookspecs)
        for module_name in DEFAULT_PLUGINS:
            pm.register(importlib.import_module(module_name), name=module_name)
            _versions[module_name] = __version__
        if not _autoload_disabled():
            _load_entry_points(pm)
        _manager = pm
    return _manager


def reset_plugin_manager() -> None:
    """Forget the plugin manager (the next call builds a new one). Meant for tests."""
    global _manager
    _manager = None
    _failed.clear()


def failed_plugins() -> list[FailedPlugin]:
    """Return the entry-point plugins that failed to load in this process."""
    get_plugin_manager()
    return list(_failed)


def _plugin_name(pm: pluggy.PluginManager, plugin: object) -> str:
    return pm.get_name(plugin) or repr(plugin)


def _iter_contributions(hook_name: str) -> Iterator[Contribution]:
    pm = get_plugin_manager()
    caller = getattr(pm.hook, hook_name)
    # get_hookimpls() is in registration order: built-ins first, then plugins.
    for impl in caller.get_hookimpls():
        plugin_name = _plugin_name(pm, impl.plugin)
        try:
            result = impl.function()
        except Exception as exc:
            raise PluginError(
                f"plugin {plugin_name!r} failed in {hook_name}: {type(exc).__name__}: {exc}"
            ) from exc
        for obj in result or ():
            name = getattr(obj, "name", None)
            if not isinstance(name, str) or not name:
                raise PluginError(
                    f"plugin {plugin_name!r} contributed {obj!r} to {hook_name} without a 'name'"
                )
            yield Contribution(name=name, obj=obj, plugin=plugin_name, hook=hook_name)


def contributions(hook_name: str) -> dict[str, Contribution]:
    """Return every class contributed to `hook_name`, by its name.

    Raises
    ------
    PluginError
        If a plugin fails, or two plugins contribute the same name.
    """
    found: dict[str, Contribution] = {}
    for item in _iter_contributions(hook_name):
        if item.name in found:
            other = found[item.name]
            if other.obj is item.obj:
                continue
            raise PluginError(
                f"{HOOK_KINDS.get(hook_name, hook_name)} name {item.name!r} is contributed by "
                f"both {other.plugin!r} and {item.plugin!r}"
            )
        found[item.name] = item
    return found


def lookup(hook_name: str, name: str) -> Any:
    """Return the class contributed to `hook_name` under `name`.

    Raises
    ------
    CryotmError
        If no plugin contributes that name; the message lists the known names.
    """
    found = contributions(hook_name)
    try:
        return found[name].obj
    except KeyError:
        kind = HOOK_KINDS.get(hook_name, hook_name)
        known = ", ".join(sorted(found)) or "none"
        raise CryotmError(f"unknown {kind} {name!r} (known: {known})") from None


@attrs.frozen
class PluginInfo:
    """What `cryotm plugins` shows for one plugin."""

    name: str
    version: str
    builtin: bool
    provides: dict[str, list[str]]


def plugin_infos() -> list[PluginInfo]:
    """Describe every registered plugin: name, version and what it contributes."""
    pm = get_plugin_manager()
    provides: dict[str, dict[str, list[str]]] = {}
    for hook_name, kind in HOOK_KINDS.items():
        for item in _iter_contributions(hook_name):
            provides.setdefault(item.plugin, {}).setdefault(kind, []).append(item.name)
    infos = []
    for name, plugin in pm.list_name_plugin():
        version = _versions.get(name)
        if version is None:
            version = str(getattr(plugin, "__version__", "?"))
        infos.append(
            PluginInfo(
                name=name,
                version=version,
                builtin=name in DEFAULT_PLUGINS,
                provides=provides.get(name, {}),
            )
        )
    infos.sort(key=lambda info: (not info.builtin, info.name))
    return infos
