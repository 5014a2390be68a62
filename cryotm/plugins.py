"""The plugin manager: cryotm's built-ins and third-party plugins, found the same way.

cryotm's own threshold strategies, labelers, map formats and particle-list
formats are the modules in :data:`DEFAULT_PLUGINS`, registered through the
hooks in :mod:`cryotm.hookspecs` exactly like a third-party plugin, but
``trylast`` (as datasette does): a plugin that contributes a class under a
built-in's name replaces the built-in, and a plugin's reader or writer is
asked before the built-ins for the extensions they share. Third-party plugins
are found through the ``cryotm`` entry-point group::

    [project.entry-points.cryotm]
    myformat = "my_package.cryotm_plugin"

Every plugin is validated once, when it is registered: its hooks must be
cryotm hooks (a misspelled hook name is reported), each hook must return a
list of classes of the right kind (a :class:`~cryotm.thresholds.ThresholdStrategy`
subclass for ``cryotm_threshold_strategies``, ...) with a ``name``, and no two
plugins may contribute the same name. A plugin that fails any of this is not
used: it is listed by :func:`failed_plugins` (and by ``cryotm plugins``) and
reported with a :class:`~cryotm.errors.PluginWarning`, while every other
plugin and all built-ins keep working.

Environment variables:

``CRYOTM_DISABLE_PLUGIN_AUTOLOAD``
    Anything but an empty string or ``0``: skip the entry points (the
    built-ins are always loaded).
``CRYOTM_BLOCK_PLUGINS``
    Comma-separated plugin names not to load (the command line's
    ``-p no:NAME`` does the same for one run).
"""

from __future__ import annotations

import difflib
import importlib
import os
import warnings
from importlib.metadata import entry_points
from typing import Any

import attrs
import pluggy

from . import hookspecs
from ._env import AUTOLOAD_ENV_VAR, BLOCK_ENV_VAR
from ._version import __version__
from .errors import CryotmError, PluginError, PluginWarning

__all__ = [
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "AUTOLOAD_ENV_VAR",
    "BLOCK_ENV_VAR",
    "HOOK_KINDS",
    "hookimpl",
    "get_plugin_manager",
    "reset_plugin_manager",
    "block_plugins",
    "blocked_plugins",
    "failed_plugins",
    "FailedPlugin",
    "Contribution",
    "contributions",
    "lookup",
    "PluginInfo",
    "plugin_infos",
    "CryotmPluginManager",
]

hookimpl = pluggy.HookimplMarker("cryotm")

ENTRY_POINT_GROUP = "cryotm"

#: cryotm's own features, registered through the same hooks as any plugin (``trylast``).
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

#: hook name -> "module:Class" of the base class every contribution must subclass.
HOOK_BASES: dict[str, str] = {
    "cryotm_threshold_strategies": "cryotm.thresholds.base:ThresholdStrategy",
    "cryotm_labelers": "cryotm.labeling.base:Labeler",
    "cryotm_motl_writers": "cryotm.formats.base:MotlWriter",
    "cryotm_motl_readers": "cryotm.formats.base:MotlReader",
    "cryotm_map_formats": "cryotm.maps.formats:MapFormat",
    "cryotm_alignment_readers": "cryotm.geometry.readers:AlignmentReader",
    "cryotm_pick_filters": "cryotm.pipeline.filters:PickFilter",
    "cryotm_batch_sources": "cryotm.batch.sources:BatchSource",
}


@attrs.frozen
class FailedPlugin:
    """A plugin that is not used: its name, distribution (if known) and what went wrong."""

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


def _base_class(hook_name: str) -> type:
    module_name, _, class_name = HOOK_BASES[hook_name].partition(":")
    return getattr(importlib.import_module(module_name), class_name)


class CryotmPluginManager(pluggy.PluginManager):
    """A :class:`pluggy.PluginManager` that validates each plugin once, when it is registered.

    A plugin that fails validation is unregistered, recorded (:attr:`failed`)
    and reported with a :class:`~cryotm.errors.PluginWarning`; it never
    stops the other plugins. Built-in plugins (:data:`DEFAULT_PLUGINS`) are
    registered ``trylast``.
    """

    def __init__(self) -> None:
        super().__init__("cryotm")
        self.add_hookspecs(hookspecs)
        #: Plugins that are not used, in the order they failed.
        self.failed: list[FailedPlugin] = []
        #: plugin name -> version (distribution's for entry points, cryotm's for built-ins).
        self.versions: dict[str, str] = {}
        #: plugin name -> distribution label ("name version"), for messages.
        self.distributions: dict[str, str] = {}
        # hook -> contribution name -> plugin name (from validation), and id(class) -> plugin name
        self._names: dict[str, dict[str, list[str]]] = {hook: {} for hook in HOOK_KINDS}
        self._owners: dict[int, str] = {}
        self._cache: dict[str, dict[str, Contribution]] = {}

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is not None and getattr(plugin, "__name__", None) in DEFAULT_PLUGINS:
            opts = dict(opts, trylast=True)  # type: ignore[assignment]
        return opts

    def is_builtin(self, name: str) -> bool:
        """True for cryotm's own plugins (:data:`DEFAULT_PLUGINS`)."""
        return name in DEFAULT_PLUGINS

    def register(self, plugin: Any, name: str | None = None) -> str | None:
        """Register and validate `plugin`; return its name, or None if it is blocked or failed."""
        try:
            registered = super().register(plugin, name)
        except ValueError as exc:  # the name is taken by another plugin
            self.fail(name or self.get_canonical_name(plugin), f"duplicate plugin name: {str(exc).splitlines()[0]}")
            return None
        except pluggy.PluginValidationError as exc:
            label = name or self.get_canonical_name(plugin)
            if self.get_plugin(label) is plugin:
                super().unregister(plugin)
            self.fail(label, f"invalid hook: {exc}")
            return None
        if registered is None:
            return None
        try:
            contributed = self._validate(plugin, registered)
        except PluginError as exc:
            super().unregister(plugin)
            self.fail(registered, str(exc))
            return None
        for hook_name, classes in contributed.items():
            for cls in classes:
                self._names.setdefault(hook_name, {}).setdefault(cls.name, []).append(registered)
                self._owners[id(cls)] = registered
        self._cache.clear()
        return registered

    def unregister(self, plugin: Any = None, name: str | None = None) -> Any:
        removed = super().unregister(plugin, name)
        if removed is not None:
            gone = {owner for owner in self._owners.values() if self.get_plugin(owner) is None}
            self._owners = {k: v for k, v in self._owners.items() if v not in gone}
            for names in self._names.values():
                for key, owners in names.items():
                    owners[:] = [owner for owner in owners if owner not in gone]
        self._cache.clear()
        return removed

    def fail(self, name: str, error: str) -> None:
        """Record that plugin `name` is not used, and warn."""
        self.failed.append(FailedPlugin(name, self.distributions.get(name, ""), error))
        warnings.warn(f"cryotm plugin {name!r} is not used: {error}", PluginWarning, stacklevel=3)

    def _validate(self, plugin: Any, name: str) -> dict[str, list[type]]:
        """Check every hook of `plugin` and what it returns; raise PluginError naming the problem."""
        contributed: dict[str, list[type]] = {}
        for caller in self.get_hookcallers(plugin) or ():
            impls = [impl for impl in caller.get_hookimpls() if impl.plugin is plugin]
            if not caller.has_spec():
                if all(impl.optionalhook for impl in impls):
                    continue
                close = difflib.get_close_matches(caller.name, list(HOOK_KINDS), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else f" (cryotm's hooks: {', '.join(HOOK_KINDS)})"
                raise PluginError(f"{caller.name!r} is not a cryotm hook{hint}")
            if caller.name not in HOOK_KINDS:
                continue
            for impl in impls:
                contributed.setdefault(caller.name, []).extend(self._check_result(name, caller.name, impl))
        return contributed

    def _check_result(self, plugin_name: str, hook_name: str, impl: Any) -> list[type]:
        kind = HOOK_KINDS[hook_name]
        try:
            result = impl.function()
        except Exception as exc:  # a broken plugin must not take cryotm down
            raise PluginError(f"{hook_name} raised {type(exc).__name__}: {exc}") from exc
        if result is None:
            return []
        if isinstance(result, (str, bytes)) or not hasattr(result, "__iter__"):
            raise PluginError(f"{hook_name} must return a list of classes, got {type(result).__name__}")
        base = _base_class(hook_name)
        classes: list[type] = []
        seen: set[str] = set()
        for obj in result:
            if not isinstance(obj, type) or not issubclass(obj, base):
                raise PluginError(
                    f"{hook_name} returned {obj!r}, which is not a subclass of {base.__module__}.{base.__qualname__}"
                )
            cls_name = getattr(obj, "name", None)
            if not isinstance(cls_name, str) or not cls_name:
                raise PluginError(f"{hook_name} returned {obj.__qualname__} without a 'name'")
            if cls_name in seen:
                raise PluginError(f"{hook_name} returned two classes named {cls_name!r}")
            seen.add(cls_name)
            owners = self._names.get(hook_name, {}).get(cls_name, ())
            others = [o for o in owners if o != plugin_name and not self.is_builtin(o)]
            if others:
                raise PluginError(f"duplicate {kind} name {cls_name!r}: plugin {others[0]!r} contributes it already")
            classes.append(obj)
        return classes

    def contributions(self, hook_name: str) -> dict[str, Contribution]:
        """Every class contributed to `hook_name`, by name, in the order pluggy calls the hooks.

        ``tryfirst`` plugins come first and the built-ins last; the first
        class of a name wins (a plugin overrides a built-in of the same name).
        """
        cached = self._cache.get(hook_name)
        if cached is not None:
            return cached
        try:
            results = getattr(self.hook, hook_name)()
        except Exception as exc:
            raise PluginError(f"a plugin failed in {hook_name}: {type(exc).__name__}: {exc}") from exc
        found: dict[str, Contribution] = {}
        for result in results:
            for obj in result or ():
                name = obj.name
                if name in found:
                    continue
                owner = self._owners.get(id(obj)) or next(iter(self._names.get(hook_name, {}).get(name, ())), "?")
                found[name] = Contribution(name=name, obj=obj, plugin=owner, hook=hook_name)
        self._cache[hook_name] = found
        return found

    def overridden(self, hook_name: str) -> dict[str, str]:
        """Built-in names of `hook_name` that a plugin replaces: name -> the plugin that does."""
        return {
            name: item.plugin
            for name, item in self.contributions(hook_name).items()
            if not self.is_builtin(item.plugin) and any(map(self.is_builtin, self._names.get(hook_name, {}).get(name, ())))
        }


_manager: CryotmPluginManager | None = None
_blocked: set[str] = set()


def _autoload_disabled() -> bool:
    return os.environ.get(AUTOLOAD_ENV_VAR, "") not in ("", "0")


def blocked_plugins() -> set[str]:
    """The plugin names not to load: :data:`BLOCK_ENV_VAR` plus :func:`block_plugins`."""
    from_env = {name.strip() for name in os.environ.get(BLOCK_ENV_VAR, "").split(",") if name.strip()}
    return from_env | _blocked


def block_plugins(*names: str) -> None:
    """Do not load the plugins `names` (entry-point or built-in module names); rebuilds the manager.

    The command line's ``-p no:NAME`` calls this; :func:`reset_plugin_manager`
    forgets these names again.
    """
    global _manager
    _blocked.update(names)
    _manager = None


def _load_entry_points(pm: CryotmPluginManager) -> None:
    # by name, so that which of two clashing plugins loses does not depend on the file system
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name):
        dist = getattr(ep, "dist", None)
        pm.distributions[ep.name] = f"{dist.name} {dist.version}" if dist is not None else ""
        if pm.is_blocked(ep.name):
            continue
        if pm.has_plugin(ep.name):
            pm.fail(ep.name, f"duplicate plugin name: {ep.name!r} is already loaded")
            continue
        try:
            plugin = ep.load()
        except Exception as exc:  # a broken plugin must not take cryotm down
            pm.fail(ep.name, f"{type(exc).__name__}: {exc}")
            continue
        if pm.register(plugin, name=ep.name) is not None:
            pm.versions[ep.name] = dist.version if dist is not None else "?"


def get_plugin_manager() -> CryotmPluginManager:
    """Return the process-wide plugin manager, building (and validating) it on first use.

    Returns
    -------
    CryotmPluginManager
        With the built-ins and (unless disabled) the entry-point plugins
        registered. Further plugins may be added with ``pm.register(obj)``;
        each is validated when registered.
    """
    global _manager
    if _manager is None:
        pm = CryotmPluginManager()
        for name in blocked_plugins():
            pm.set_blocked(name)
        for module_name in DEFAULT_PLUGINS:
            if not pm.is_blocked(module_name):
                pm.register(importlib.import_module(module_name), name=module_name)
                pm.versions[module_name] = __version__
        if not _autoload_disabled():
            _load_entry_points(pm)
        try:
            pm.check_pending()  # every hook left is a cryotm hook: the misspelled ones failed above
        except pluggy.PluginValidationError as exc:  # pragma: no cover - register() removes them
            raise PluginError(str(exc)) from exc
        _manager = pm
    return _manager


def reset_plugin_manager() -> None:
    """Forget the plugin manager and :func:`block_plugins`' names (the next call builds a new one). For tests."""
    global _manager
    _manager = None
    _blocked.clear()


def failed_plugins() -> list[FailedPlugin]:
    """Return the plugins that failed (to load, or validation) and are not used."""
    return list(get_plugin_manager().failed)


def contributions(hook_name: str) -> dict[str, Contribution]:
    """Return every class contributed to `hook_name`, by its name (see :meth:`CryotmPluginManager.contributions`)."""
    return get_plugin_manager().contributions(hook_name)


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
    """What ``cryotm plugins`` shows for one plugin.

    ``provides`` maps a kind (``threshold``, ``writer``, ...) to the names the
    plugin contributes; ``descriptions`` maps each such name to its class's
    ``description`` (else the first line of its docstring); ``overrides``
    lists the built-in names it replaces.
    """

    name: str
    version: str
    builtin: bool
    provides: dict[str, list[str]]
    descriptions: dict[str, str] = attrs.field(factory=dict)
    overrides: list[str] = attrs.field(factory=list)


def describe(cls: type) -> str:
    """One line about a contributed class: its ``description``, else its docstring's first line."""
    text = getattr(cls, "description", "") or (cls.__doc__ or "").strip()
    return text.strip().splitlines()[0] if text.strip() else ""


def plugin_infos() -> list[PluginInfo]:
    """Describe every registered plugin: name, version and what it contributes."""
    pm = get_plugin_manager()
    provides: dict[str, dict[str, list[str]]] = {}
    descriptions: dict[str, dict[str, str]] = {}
    overrides: dict[str, list[str]] = {}
    for hook_name, kind in HOOK_KINDS.items():
        for item in pm.contributions(hook_name).values():
            provides.setdefault(item.plugin, {}).setdefault(kind, []).append(item.name)
            descriptions.setdefault(item.plugin, {})[item.name] = describe(item.obj)
        for name, plugin in pm.overridden(hook_name).items():
            overrides.setdefault(plugin, []).append(f"{kind} {name}")
    infos = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:  # blocked
            continue
        version = pm.versions.get(name) or str(getattr(plugin, "__version__", "?"))
        infos.append(
            PluginInfo(
                name=name,
                version=version,
                builtin=pm.is_builtin(name),
                provides=provides.get(name, {}),
                descriptions=descriptions.get(name, {}),
                overrides=overrides.get(name, []),
            )
        )
    infos.sort(key=lambda info: (not info.builtin, info.name))
    return infos
