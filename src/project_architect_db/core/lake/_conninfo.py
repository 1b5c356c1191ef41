r"""The libpq conninfo string DuckLake's ``ATTACH 'ducklake:postgres:...'`` takes, parsed.

The guard talks to the same PostgreSQL catalog as DuckLake, through asyncpg (no libpq needed on
the machine), so it reads the very string the lake is attached with: ``dbname=... host=<socket
dir or host> port=... user=... password=...``, values optionally single-quoted with ``\'`` and
``\\`` escapes, as libpq documents. A ``postgresql://`` URI is passed to asyncpg as is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from project_architect_db.exceptions import ConfigurationError

__all__ = ["ConnInfo", "parse_conninfo"]

# The keywords asyncpg can honour; libpq refuses unknown keywords too, so a typo fails here.
_KEYWORDS = frozenset(
    {
        "host",
        "hostaddr",
        "port",
        "dbname",
        "user",
        "password",
        "connect_timeout",
        "sslmode",
        "application_name",
    }
)
_LAKE_PREFIX = "ducklake:"
_PAIR = re.compile(r"\s*([A-Za-z_]+)\s*=\s*")
_SSL_MODES = frozenset({"disable", "allow", "prefer", "require", "verify-ca", "verify-full"})


@dataclass(frozen=True, slots=True)
class ConnInfo:
    """A parsed catalog connection: what asyncpg needs to reach DuckLake's PostgreSQL."""

    params: tuple[tuple[str, str], ...] = ()
    uri: str | None = None

    def get(self, keyword: str) -> str | None:
        """The value of ``keyword``, or None when the string does not set it."""
        return dict(self.params).get(keyword)

    def connect_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``asyncpg.connect`` / ``create_pool``."""
        if self.uri is not None:
            return {"dsn": self.uri}
        values = dict(self.params)
        kwargs: dict[str, Any] = {}
        host = values.get("hostaddr") or values.get("host")
        if host is not None:
            kwargs["host"] = host
        for keyword, name in (("dbname", "database"), ("user", "user"), ("password", "password")):
            if keyword in values:
                kwargs[name] = values[keyword]
        if "port" in values:
            kwargs["port"] = _number(values["port"], "port", int)
        if "connect_timeout" in values:
            kwargs["timeout"] = _number(values["connect_timeout"], "connect_timeout", float)
        if "sslmode" in values:
            kwargs["ssl"] = values["sslmode"]
        if "application_name" in values:
            kwargs["server_settings"] = {"application_name": values["application_name"]}
        return kwargs

    def describe(self) -> str:
        """Where the catalog is, for error messages (never the password)."""
        if self.uri is not None:
            return re.sub(r"//([^:@/]*):[^@/]*@", r"//\1:***@", self.uri)
        shown = [f"{key}={value}" for key, value in self.params if key != "password"]
        return " ".join(shown) or "the libpq defaults"


def parse_conninfo(text: str) -> ConnInfo:
    """Parse a libpq conninfo (or ``ducklake:postgres:<conninfo>``) into a :class:`ConnInfo`.

    Raises:
        ConfigurationError: The string is not a PostgreSQL catalog, has an unknown keyword, an
            unterminated quote, a keyword without ``=``, or a bad port, timeout or sslmode.

    Examples:
        >>> parse_conninfo("ducklake:postgres:dbname=lake host=/tmp user=me").get("dbname")
        'lake'
    """
    if not isinstance(text, str):
        raise ConfigurationError(f"A catalog conninfo must be a string, not {type(text).__name__}.")
    body = _strip_lake_prefix(text.strip())
    if body.startswith(("postgresql://", "postgres://")):
        return ConnInfo(uri=body)
    params = tuple(_pairs(body))
    info = ConnInfo(params=params)
    mode = info.get("sslmode")
    if mode is not None and mode not in _SSL_MODES:
        raise ConfigurationError(
            f"sslmode={mode!r} is not a libpq SSL mode; use one of {', '.join(sorted(_SSL_MODES))}."
        )
    info.connect_kwargs()  # port and timeout are checked here, once
    return info


def _strip_lake_prefix(text: str) -> str:
    if not text.startswith(_LAKE_PREFIX):
        return text
    rest = text[len(_LAKE_PREFIX) :]
    if rest.startswith("postgres:"):
        return rest[len("postgres:") :]
    raise ConfigurationError(
        f"{text!r} is not a DuckLake with a PostgreSQL catalog: processes share a lake only "
        "through 'ducklake:postgres:<conninfo>' (a SQLite or DuckDB catalog cannot be shared)."
    )


def _pairs(body: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    position = 0
    while body[position:].strip():
        match = _PAIR.match(body, position)
        if match is None:
            raise ConfigurationError(
                f"Cannot read the catalog conninfo at {body[position:]!r}: write keyword=value "
                "pairs separated by spaces, e.g. 'dbname=lake host=/run/postgresql user=me'."
            )
        keyword = match.group(1)
        if keyword not in _KEYWORDS:
            raise ConfigurationError(
                f"Unknown conninfo keyword {keyword!r}; the lake guard understands "
                f"{', '.join(sorted(_KEYWORDS))}."
            )
        value, position = _value(body, match.end(), keyword)
        pairs.append((keyword, value))
    return pairs


def _value(body: str, position: int, keyword: str) -> tuple[str, int]:
    """One value from ``position``: quoted with escapes, or up to the next blank."""
    quoted = position < len(body) and body[position] == "'"
    if quoted:
        position += 1
    chars: list[str] = []
    while position < len(body):
        char = body[position]
        if char == "\\" and position + 1 < len(body):
            chars.append(body[position + 1])
            position += 2
            continue
        if (quoted and char == "'") or (not quoted and char.isspace()):
            return "".join(chars), position + 1
        chars.append(char)
        position += 1
    if quoted:
        raise ConfigurationError(
            f"The value of {keyword!r} in the catalog conninfo opens a quote it never closes."
        )
    if not chars:
        raise ConfigurationError(f"{keyword}= has no value in the catalog conninfo.")
    return "".join(chars), position


def _number(value: str, keyword: str, kind: type[int] | type[float]) -> int | float:
    try:
        number = kind(value)
    except ValueError:
        number = -1
    if number <= 0 or (kind is int and not 0 < number < 65536):
        raise ConfigurationError(f"{keyword}={value!r} in the catalog conninfo is not valid.")
    return number
