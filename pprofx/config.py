"""Agent settings from ``PPROFX_*`` environment variables, parsed once into typed options.

Used by ``import pprofx.auto`` and ``pprofx run``; lower layers receive the dataclasses,
never the environment. Every variable is listed in docs/configuration.md.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Mapping

from .http.server import ServerConfig

#: The heap profiler's rate under ``pprofx.auto``/``pprofx run`` when PPROFX_HEAP_RATE is unset:
#: off, unlike Go (512 KiB), because the hook measured above the 3% budget on allocation-heavy
#: code (docs/heap.md, benchmarks/RESULTS.md); PPROFX_HEAP_RATE=524288 turns it on.
HEAP_RATE_DEFAULT = 0
HEAP_BACKENDS = ("auto", "c", "tracemalloc")


class ConfigError(ValueError):
    """A PPROFX_* variable has a value that cannot be used (the message names it)."""


@dataclasses.dataclass
class AgentConfig:
    enabled: bool
    server: ServerConfig
    cpu_hz: int
    overhead_budget: float
    workers: bool
    block_rate: int = 0  #: Go's SetBlockProfileRate, ns (0: block profile off)
    mutex_fraction: int = 0  #: Go's SetMutexProfileFraction (0: mutex profile off)
    #: Go's MemProfileRate, bytes (0: heap profiler off); see docs/heap.md
    heap_rate: int = HEAP_RATE_DEFAULT
    #: "auto" (C hook, else tracemalloc), "c" (C hook or nothing), "tracemalloc"
    heap_backend: str = "c"


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r}: expected 1/0, true/false, yes/no or on/off")


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected an integer") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name}={raw!r}: must be between {lo} and {hi}")
    return value


def from_env(env: Mapping[str, str] | None = None) -> AgentConfig:
    """Read the agent's settings; raises :class:`ConfigError` naming a bad variable."""
    env = os.environ if env is None else env
    token = env.get("PPROFX_TOKEN") or None
    token_file = env.get("PPROFX_TOKEN_FILE")
    if token_file:
        try:
            with open(token_file) as f:
                token = f.read().strip() or None
        except OSError as e:
            raise ConfigError(f"PPROFX_TOKEN_FILE={token_file!r}: {e.strerror or e}") from None
    budget_raw = env.get("PPROFX_CPU_BUDGET", "")
    try:
        budget = float(budget_raw) if budget_raw else 0.01
    except ValueError:
        raise ConfigError(f"PPROFX_CPU_BUDGET={budget_raw!r}: expected a fraction such as 0.01") from None
    if not 0 < budget <= 1:
        raise ConfigError(f"PPROFX_CPU_BUDGET={budget_raw!r}: must be in (0, 1]")
    server = ServerConfig(
        address=env.get("PPROFX_HTTP") or "127.0.0.1:6060",
        token=token,
        allow=[c.strip() for c in env.get("PPROFX_ALLOW", "").split(",") if c.strip()],
        certfile=env.get("PPROFX_TLS_CERT") or None,
        keyfile=env.get("PPROFX_TLS_KEY") or None,
        insecure=_bool(env, "PPROFX_INSECURE", False),
        max_seconds=_int(env, "PPROFX_MAX_SECONDS", 300, 1, 86400),
        metrics=_bool(env, "PPROFX_METRICS", False),
    )
    return AgentConfig(
        enabled=_bool(env, "PPROFX_ENABLED", True),
        server=server,
        cpu_hz=_int(env, "PPROFX_CPU_HZ", 100, 1, 1000),
        overhead_budget=budget,
        workers=_bool(env, "PPROFX_WORKERS", True),
        block_rate=_int(env, "PPROFX_BLOCK_RATE", 0, 0, 10**12),
        mutex_fraction=_int(env, "PPROFX_MUTEX_FRACTION", 0, 0, 10**9),
        heap_rate=_int(env, "PPROFX_HEAP_RATE", HEAP_RATE_DEFAULT, 0, 1 << 40),
        heap_backend=_heap_backend(env),
    )


def _heap_backend(env: Mapping[str, str]) -> str:
    raw = env.get("PPROFX_HEAP_BACKEND") or ""
    if raw and raw not in HEAP_BACKENDS:
        raise ConfigError(f"PPROFX_HEAP_BACKEND={raw!r}: expected one of {', '.join(HEAP_BACKENDS)}")
    if raw:
        return raw
    # An explicit rate may use the slow tracemalloc fallback; the default-on rate never does.
    return "auto" if env.get("PPROFX_HEAP_RATE") else "c"
