"""Hand the user's settings to the core manager (on the network thread).

Each setting is either applied — the core has the matching knob — or stored only, kept in the
settings file and applied once the core supports it. ``apply_settings`` says which is which so the
settings page can tell the user honestly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.settings import Settings
from core import NetworkManager, RedirectPolicy

SETTING_LABELS: dict[str, str] = {
    "proxy": "Proxy", "pac_url": "Automatic proxy configuration (PAC)",
    "redirect_policy": "Redirect policy", "max_redirects": "Maximum redirects",
    "hsts_enabled": "HSTS", "cache": "HTTP cache", "cache_load_control": "Default cache load control",
    "transfer_timeout": "Transfer timeout", "http2_allowed": "HTTP/2",
    "trust_store": "Trust store", "extra_ca_files": "Extra CA certificates",
    "client_certificates": "Client certificates", "tls_keylog": "TLS key log",
}


@dataclass
class ApplyResult:
    applied: list[str] = field(default_factory=list)
    stored_only: list[str] = field(default_factory=list)

    def mark(self, name: str, applied: bool) -> None:
        (self.applied if applied else self.stored_only).append(name)


def _set(obj: object, attr: str, value: object) -> bool:
    """Set ``attr`` when the core has it (feature detection: older cores simply lack the knob)."""
    if not hasattr(obj, attr):
        return False
    setattr(obj, attr, value)
    return True


def apply_settings(settings: Settings, manager: NetworkManager) -> ApplyResult:
    """Must run on the manager's loop thread (``QtNetworkManager.thread.run_sync``)."""
    s, m, out = settings, manager, ApplyResult()
    out.mark("transfer_timeout", _set(m, "transfer_timeout", float(s.transfer_timeout)))
    out.mark("redirect_policy", _set(m, "redirect_policy", RedirectPolicy(s.redirect_policy.value)))
    out.mark("max_redirects", _set(m, "maximum_redirects", s.max_redirects))
    out.mark("http2_allowed", _set(m, "http2_allowed", s.http2_allowed))
    out.mark("hsts_enabled", _set(m, "strict_transport_security_enabled", s.hsts_enabled))
    out.mark("proxy", False)
    out.mark("pac_url", False)
    out.mark("cache", False)
    out.mark("cache_load_control", False)
    out.mark("trust_store", False)
    out.mark("extra_ca_files", False)
    out.mark("client_certificates", False)
    out.mark("tls_keylog", False)
    return out
