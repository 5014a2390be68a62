"""Without copick installed, the plugin's modules and tests are not collected (they need it)."""

import importlib.util

collect_ignore_glob = [] if importlib.util.find_spec("copick") else ["src/*"]  # the tests skip themselves, with the reason
