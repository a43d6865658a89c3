"""Parse ``HOST:PORT`` strings (``--listen``, ``--peer``), including ``[v6]:PORT``.

``parse_address(text, default_port=None) -> (host, port)`` raises ``ValueError`` with a one-line
reason (the CLI turns it into a usage error); ``format_address(host, port)`` is the inverse.
"""

from __future__ import annotations

import ipaddress


def parse_address(text: str, default_port: int | None = None) -> tuple[str, int]:
    text = text.strip()
    if not text:
        raise ValueError("empty address: expected HOST:PORT")
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ValueError(f"address {text!r}: missing ']' after the IPv6 address")
        host, rest = text[1:end], text[end + 1 :]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"address {text!r}: {host!r} is not an IPv6 address") from None
        if rest and not rest.startswith(":"):
            raise ValueError(f"address {text!r}: expected ':' after ']'")
        port_text = rest[1:] if rest else ""
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    elif ":" in text:
        raise ValueError(f"address {text!r}: write IPv6 addresses as [ADDRESS]:PORT")
    else:
        host, port_text = text, ""
    if not host:
        raise ValueError(f"address {text!r}: the host is missing")
    if not port_text:
        if default_port is None:
            raise ValueError(f"address {text!r}: the port is missing (HOST:PORT)")
        return host, default_port
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"address {text!r}: port must be a number from 0 to 65535")
    return host, int(port_text)


def format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
