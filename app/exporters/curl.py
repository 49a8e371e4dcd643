"""A saved request as a curl command (``format_curl`` from the composer's curl module)."""

from __future__ import annotations

from pathlib import Path

from app.collections.model import Collection, Environment, RequestItem
from app.collections.prepare import prepare
from app.collections.secrets import SecretStore
from app.curl_import import FormField as CurlField
from app.curl_import import format_curl
from app.exporters import drop_sensitive, export_resolver, export_url


def export_curl(collection: Collection, item: RequestItem, environment: Environment | None = None,
                secrets: SecretStore | None = None, base_dir: str | Path | None = None,
                include_sensitive: bool = False, include_secrets: bool = False) -> str:
    """The curl command for ``item``. Variables are filled in; secrets and credentials only on request."""
    resolver = export_resolver(collection, environment, secrets, include_secrets)
    base = Path(base_dir) if base_dir is not None else Path(".")
    p = prepare(collection, item, resolver, base_dir=base, for_export=True)
    headers = drop_sensitive(p.headers, include_sensitive)
    form: list[CurlField] | None = None
    body_file: str | None = None
    body = p.body_preview
    if item.body.type == "multipart":
        form = []
        for f in item.body.fields:
            if not f.enabled:
                continue
            if f.file is not None:
                form.append(CurlField(resolver.substitute(f.name), path=str(base / resolver.substitute(f.file)),
                                      content_type=f.content_type))
            else:
                form.append(CurlField(resolver.substitute(f.name), resolver.substitute(f.value),
                                      content_type=f.content_type))
    elif item.body.type == "file" and item.body.file:
        body_file = str(base / resolver.substitute(item.body.file))
    if body is not None and p.body is not None and p.body.content_type and \
            not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", p.body.content_type))
    return format_curl(p.method, export_url(p.url, include_sensitive), headers, body=body, body_file=body_file, form=form,
                       follow_redirects=item.follow_redirects is not False)
