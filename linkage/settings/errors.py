"""The settings' one error, apart so that every settings module can raise it without importing
another (linkage.settings.config re-exports it)."""


class ConfigError(ValueError):
    """A district file or setting that cannot be used as it stands."""
