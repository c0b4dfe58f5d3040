import secrets


def new_public_id(prefix: str, nbytes: int = 6) -> str:
    """A documented prefixed id: new_public_id("inc") -> "inc-3f9c0a51e2d7"."""
    return f"{prefix}-{secrets.token_hex(nbytes)}"
