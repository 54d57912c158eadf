"""Certificates for tests: issue one through the CLI, read its QR code, forge a token."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import Cli, app_in


def issue(cli: Cli, **kw: str) -> dict:
    app_id = app_in(cli, "completed", **kw)
    return cli.json("print", app_id)


def qr_text(pdf: Path) -> str:
    import pypdfium2 as pdfium
    import zxingcpp

    page = pdfium.PdfDocument(str(pdf))[0]
    found = zxingcpp.read_barcodes(page.render(scale=2).to_pil())
    assert len(found) == 1
    return found[0].text


def signed_for(number: str, token: str) -> str:
    """A token signed with this office's own key for a number the register never issued."""
    from arayis_cli.certificate.signing import current_signer, parse_token, sign_token
    from tests.helpers import key_place

    real = parse_token(token)
    return sign_token(
        current_signer(key_place()),
        number=number,
        issued_at=real.issued_at,
        valid_until=real.valid_until,
        abonent_code=real.abonent_code,
    )
