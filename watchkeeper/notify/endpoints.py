"""Where a notification target's deliveries go (host and port), and whether that answers, found
without sending anything: what `wk doctor` checks.

Our own senders post to the URL after the `dingtalk+`-style prefix. For an apprise URL the host
part is often a token (`tgram://BOT_TOKEN/CHAT`), so the endpoint comes from the apprise plugin:
its SMTP server, its fixed API URL, or the URL's host only for plugins whose URL names a host.
"""

from __future__ import annotations

import socket
import urllib.parse
from dataclasses import dataclass

from watchkeeper.notify.senders import OWN_SCHEMES


@dataclass(frozen=True)
class Endpoint:
    scheme: str  # as configured: dingtalk+https, tgram, mailtos, ...
    host: str
    port: int

    def __str__(self) -> str:
        # Only scheme, host and port: paths and queries of webhook URLs carry the tokens.
        return f"{self.scheme}://{self.host}:{self.port}/…"


class UnknownEndpoint(ValueError):
    """The URL is understood, but where it connects is not known here (a cloud service apprise hides)."""


def _from_url(url: str, scheme: str) -> Endpoint:
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname:
        raise ValueError("no host")
    return Endpoint(scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))


def _from_apprise(url: str, scheme: str) -> Endpoint:
    import apprise

    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        raise ValueError(f"{scheme}:// is not a target watchkeeper or apprise understands")
    smtp_host = getattr(plugin, "smtp_host", None)
    if smtp_host:
        return Endpoint(scheme, str(smtp_host), int(plugin.port or 25))
    api = getattr(plugin, "notify_url", None)
    if isinstance(api, str) and api.startswith("http") and "{" not in urllib.parse.urlsplit(api).netloc:
        return _from_url(api, scheme)
    templates: tuple[str, ...] = getattr(plugin, "templates", ())  # the URL forms it accepts
    if plugin.host and any("{host}" in t for t in templates):
        return Endpoint(scheme, str(plugin.host), int(plugin.port or (443 if plugin.secure else 80)))
    raise UnknownEndpoint(f"apprise does not say where {scheme}:// connects")


def endpoint(url: str) -> Endpoint:
    """The host and port deliveries to `url` connect to; ValueError when the URL cannot be used."""
    scheme = url.partition(":")[0]
    if not url.startswith((*OWN_SCHEMES, "http://", "https://")):
        return _from_apprise(url, scheme)
    try:
        return _from_url(url.partition("+")[2] if url.startswith(OWN_SCHEMES) else url, scheme)
    except ValueError as exc:  # no host, or urlsplit's "Port out of range"
        raise ValueError(f"{scheme} target is not a valid URL ({exc})") from None


def reach(target: Endpoint, timeout: float) -> str:
    """Resolve the host and open a TCP connection, then close it: nothing is sent."""
    try:
        address = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)[0][4][0]
    except socket.gaierror as exc:
        raise ConnectionError(f"{target.host} does not resolve ({exc.strerror})") from None
    where = target.host if address == target.host else f"{target.host} ({address})"
    try:
        socket.create_connection((target.host, target.port), timeout).close()
    except TimeoutError:
        raise ConnectionError(f"{where} port {target.port}: no answer within {timeout:g} s") from None
    except OSError as exc:
        raise ConnectionError(f"{where} port {target.port}: {exc.strerror or exc}") from None
    return f"{where} port {target.port} accepts connections (nothing sent)"
