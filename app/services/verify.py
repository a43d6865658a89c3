"""Verifying a certificate check by check: named by its id, or by the files it certifies (their
manifest digest), against the local ledger; or offline, from a proof bundle and the genesis."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.errors import UserError
from app.paths import DataDir
from app.services.hashing import HashProgress, hash_path
from app.services.ledger import open_view, require_cert_ids, resolve_cert_id
from bedrock.atomic import write_bytes_atomic
from bedrock.canonical import EncodingError, canonical, decode
from ledger_core.attest.proofs import Report, build_bundle, check_bundle
from ledger_core.attest.queries import certificate_for
from ledger_core.chain import genesis as gen

MAX_BUNDLE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Verified:
    """The checks (`report.ok`: all passed) and what they are about ("certificate <id>", ...)."""

    report: Report
    what: str


def read_bundle(path: Path) -> Any:
    """A proof bundle file: canonical JSON of at most MAX_BUNDLE_BYTES."""
    try:
        raw = path.read_bytes()
        if len(raw) > MAX_BUNDLE_BYTES:
            raise UserError(f"{path} is larger than {MAX_BUNDLE_BYTES} bytes")
        return decode(raw, max_bytes=MAX_BUNDLE_BYTES)
    except OSError as exc:
        raise UserError(f"cannot read bundle {path}: {exc}") from None
    except EncodingError as exc:
        raise UserError(f"{path} is not a proof bundle (canonical JSON): {exc}") from None


def verify_bundle(
    bundle: Path, genesis_file: Path, local: Path | None = None,
    progress: HashProgress | None = None,
) -> Verified:
    """A proof bundle checked offline against the chain's genesis (and the files at `local`):
    issuer keys and roles from the genesis file, validity by this computer's clock; revocation
    and trust are the exporter's statements, reported apart (`Report.unproven`)."""
    rep = check_bundle(read_bundle(bundle), gen.load(genesis_file),
                       local_digest=hash_path(local, progress).digest if local else None,
                       now_ms=time.time_ns() // 1_000_000)
    return Verified(rep, f"bundle {bundle.name}")


def verify_on_ledger(
    dd: DataDir, ref: str, cert_ref: str | None = None, export_bundle: Path | None = None,
    progress: HashProgress | None = None,
) -> Verified:
    """`ref`: a certificate id (or unique prefix), or a file or folder whose digest must match
    the certificate `cert_ref` (default: the newest certificate with that digest). The proof
    bundle is also written to `export_bundle` when given."""
    with open_view(dd) as view:
        local = None
        cert_id = resolve_cert_id(view, ref) if not Path(ref).exists() else None
        if cert_id is None:
            path = Path(ref)
            if not path.exists():
                raise UserError(f"{ref} is neither a certificate on the ledger nor a file or folder")
            local = hash_path(path, progress).digest
            if cert_ref is not None:
                cert_id = require_cert_ids(view, [cert_ref], "--cert ")[0]
            else:
                cert_id = certificate_for(view.live.get, view.live.keys, local,
                                          time.time_ns() // 1_000_000)
                if cert_id is None:
                    rep = Report("")
                    rep.add("files", False,
                            f"no certificate on the ledger has the digest {local[:16]} of {path}")
                    return Verified(rep, str(path))
        b = build_bundle(view.store, view.genesis, view.live, cert_id)
        if export_bundle is not None:
            write_bytes_atomic(export_bundle, canonical(b), mode=0o644)
        return Verified(check_bundle(b, view.genesis, view.live, local), f"certificate {cert_id}")
