"""The contest's token-signing key, made at ``contest init``: an ECDSA P-256 key and a self-signed
certificate for it, which the registry is given as its ``auth.token.rootcertbundle``.

distribution (registry/auth/token/token.go, v2.8) trusts a token whose header names, in ``kid``,
the libtrust key ID of a public key in that bundle, or carries the chain in ``x5c``; the token
server (contest/tokens.py) does the latter.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from imagegolf.db import Database
from imagegolf.db import queries as q

VALID_DAYS = 3650


def make_signing_key(common_name: str) -> tuple[str, str]:
    """(private key PEM, certificate PEM), both ASCII text."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return private.decode("ascii"), certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def signing_key(db: Database, contest_id: int) -> tuple[str, str]:
    """The contest's (key, certificate), made now if the contest predates them."""
    found = db.run(lambda tx: q.signing_key(tx, contest_id), write=False)
    if found is not None:
        return found
    private, certificate = make_signing_key(f"imagegolf contest {contest_id} token issuer")
    db.run(lambda tx: q.put_signing_key(tx, contest_id, private, certificate))
    stored = db.run(lambda tx: q.signing_key(tx, contest_id), write=False)
    assert stored is not None
    return stored


__all__ = ["make_signing_key", "signing_key"]
