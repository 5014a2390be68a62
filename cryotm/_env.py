"""Names of the environment variables that steer plugin loading (kept import-free for ``cryotm --help``)."""

#: Anything but "" or "0": load the built-ins only, no entry points.
AUTOLOAD_ENV_VAR = "CRYOTM_DISABLE_PLUGIN_AUTOLOAD"
#: Comma-separated plugin names not to load.
BLOCK_ENV_VAR = "CRYOTM_BLOCK_PLUGINS"
