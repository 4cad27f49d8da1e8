"""The one place that builds the data converter and connects to Temporal.

The worker and every client connect through here, with one data converter: pydantic models as
JSON, then encrypted by the payload codec (linkage.trust.codec), failures' messages and stack traces
included. `PLAIN_CONVERTER` is the same without encryption, for the saved test histories.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
from collections.abc import Mapping

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.envconfig import ClientConfig
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from linkage.domain.search_attributes import SEARCH_ATTRIBUTES
from linkage.settings.config import ConfigError, Settings
from linkage.settings.secrets import secret
from linkage.settings.tracing import temporal_interceptors
from linkage.trust.codec import CODEC
from linkage.trust.undecodable import LinkagePayloadConverter, TolerantCodec

PLAIN_CONVERTER: DataConverter = pydantic_data_converter
DATA_CONVERTER: DataConverter = dataclasses.replace(
    pydantic_data_converter,
    payload_converter_class=LinkagePayloadConverter,
    payload_codec=TolerantCodec(CODEC),  # a payload that does not open fails only where read
    failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
)


def search_attribute_flags() -> list[str]:
    """`temporal server start-dev` flags that register every custom search attribute."""
    kinds = {"KEYWORD": "Keyword", "BOOL": "Bool", "INT": "Int", "KEYWORD_LIST": "KeywordList"}
    flags: list[str] = []
    for key in SEARCH_ATTRIBUTES:
        flags += ["--search-attribute", f"{key.name}={kinds[key.indexed_value_type.name]}"]
    return flags


@functools.cache
def quiet_runtime() -> Runtime:
    """A runtime for short-lived commands: the SDK core writes nothing to the terminal itself
    (not its coloured WARN lines while it retries a server that is down); its errors go to
    Python logging (`temporalio.core`), the command says what failed."""
    return Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(
                filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"),
                forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
            )
        )
    )


async def connect(settings: Settings | None = None, runtime: Runtime | None = None) -> Client:
    settings = settings or Settings()
    return await Client.connect(
        **{
            "target_host": settings.temporal_address,
            "namespace": settings.namespace,
            **secured_connection(),
        },
        data_converter=DATA_CONVERTER,
        runtime=runtime,
        interceptors=temporal_interceptors(),  # tracing, when a collector is named
    )


# --- a secured cluster: temporalio's environment configuration ------------------------------
ENVCONFIG_VARIABLES = ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_TLS")
ENVCONFIG_SELECTORS = ("TEMPORAL_PROFILE", "TEMPORAL_CONFIG_FILE")


def address(settings: Settings | None = None) -> str:
    """The address connections go to: temporalio's environment configuration's when it is
    set, else the settings' (for messages and logs that name it)."""
    try:
        found = secured_connection().get("target_host")
    except ConfigError:
        found = None
    return found or (settings or Settings()).temporal_address


def secured_connection(environ: Mapping[str, str] | None = None) -> dict:
    """TLS, mTLS, an API key, address and namespace from temporalio's environment
    configuration (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_*, TEMPORAL_API_KEY, a
    profile of TEMPORAL_CONFIG_FILE / TEMPORAL_PROFILE) when any of them is set; otherwise
    nothing, and LINKAGE_TEMPORAL_ADDRESS and LINKAGE_NAMESPACE decide as before."""
    environ = os.environ if environ is None else environ
    used = [k for k in environ if k.startswith(ENVCONFIG_VARIABLES) or k in ENVCONFIG_SELECTORS]
    if not used:
        return {}
    overrides = dict(environ)
    api_key = secret("TEMPORAL_API_KEY", environ)  # or from TEMPORAL_API_KEY_FILE
    if api_key:
        overrides["TEMPORAL_API_KEY"] = api_key
    try:
        return dict(
            ClientConfig.load_client_connect_config(
                profile=environ.get("TEMPORAL_PROFILE"), override_env_vars=overrides
            )
        )
    except Exception as err:  # the bridge's ConfigError: a missing profile or file, a bad PEM
        raise ConfigError(f"Temporal connection ({', '.join(sorted(used))}): {err}") from None
