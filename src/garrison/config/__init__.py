"""Settings from a TOML file and ``GARRISON_*`` environment variables."""

from garrison.config.settings import (
    ConfigError,
    LowPorts,
    Settings,
    load_settings,
    render_default_config,
)

__all__ = ["ConfigError", "LowPorts", "Settings", "load_settings", "render_default_config"]
