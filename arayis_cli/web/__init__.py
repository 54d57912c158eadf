"""The public verification service behind the QR code (``arayis serve``).

Starlette under uvicorn. It reads the register and writes one thing only: the log of
verifications (who checked which certificate is not recorded, only when and the verdict).
Imported only by ``arayis serve`` and its tests: the CLI's start-up never pays for it.
"""
