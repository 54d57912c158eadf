#!/usr/bin/env python3
"""The portal's side of the service, as a real HTTP client of ``arayis serve``'s /api/v1.

It walks the subscriber's steps on e-gov.az: enter the abonent code, FIN, phone and email
(submit), upload the documents, watch "Göndərilən müraciətlər" until the office decides,
then press "Çap et" — and either save the certificate PDF or show the debt warning.

    python examples/portal_client.py --url http://127.0.0.1:8080 --key "$KEY" \\
        --abonent 0011276516 --fin 6HV4DVC --phone "050 123 45 67" --email a@example.az \\
        --document id-card=sample_data/documents/sexsiyyet_vesiqesi.jpg \\
        --document ownership=sample_data/documents/mulkiyyet_cixarisi.pdf

Exit 0 with the PDF saved, 3 when "Çap et" met a debt, 5 when the application was
rejected or the wait ran out, 2 for a refused request (its problem document is printed).
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path
from typing import Any

try:
    import httpx
except ImportError:  # the fork some environments install under its own name
    import httpx2 as httpx  # type: ignore[no-redef]


def refused(response: Any) -> int:
    """A problem document (RFC 9457) on stderr; the exit code for it."""
    try:
        problem = response.json()
        sys.stderr.write(f"{response.status_code} {problem['code']}: {problem['detail']}\n")
    except ValueError:
        sys.stderr.write(f"{response.status_code}: {response.text[:200]}\n")
    return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--key", required=True, help="API key (arayis api-key create)")
    parser.add_argument("--abonent", required=True)
    parser.add_argument("--fin", required=True)
    parser.add_argument("--phone", required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--external-id", default=None, help="default: a new random id")
    parser.add_argument(
        "--document", action="append", default=[], metavar="KIND=FILE", help="repeatable"
    )
    parser.add_argument("--wait", type=float, default=600, help="seconds to watch the status")
    parser.add_argument("--poll", type=float, default=2, help="seconds between looks")
    parser.add_argument("--out", type=Path, default=None, help="where to save the PDF")
    parser.add_argument("--lang", default="az", choices=("az", "en"))
    args = parser.parse_args(argv)

    headers = {"authorization": f"Bearer {args.key}", "accept-language": args.lang}
    with httpx.Client(base_url=args.url.rstrip("/") + "/api/v1", headers=headers) as api:
        # Step 3: the form (abonent code, FIN, phone, email), sent once, idempotently.
        external_id = args.external_id or f"egov-{uuid.uuid4().hex[:12]}"
        body = {
            "abonent_code": args.abonent,
            "fin": args.fin,
            "phone": args.phone,
            "email": args.email,
            "external_id": external_id,
        }
        r = api.post("/applications", json=body)
        if r.status_code not in (200, 201):
            return refused(r)
        app = r.json()
        app_id = app["id"]
        print(f"Müraciət №{app_id} ({external_id}): {app['status_label']}. {app['message']}")

        # Step 4: the documents, kind and file in pairs; a retry with the same key is safe.
        if args.document:
            files: list[tuple[str, Any]] = []
            for item in args.document:
                kind, _sep, name = item.partition("=")
                path = Path(name)
                files.append(("kind", (None, kind)))
                files.append(("file", (path.name, path.read_bytes())))
            r = api.post(
                f"/applications/{app_id}/documents",
                files=files,
                headers={"idempotency-key": f"{external_id}-documents"},
            )
            if r.status_code != 201:
                return refused(r)
            stored = r.json()["documents"]
            print(f"Sənədlər yükləndi: {', '.join(d['kind'] for d in stored)}")

        # Steps 5-7: "Göndərilən müraciətlər" until the office decides.
        deadline = time.monotonic() + args.wait
        last = None
        while True:
            r = api.get(f"/applications/{app_id}")
            if r.status_code != 200:
                return refused(r)
            app = r.json()
            if app["status"] != last:
                print(f"Status: {app['status_label']} — {app['message']}")
                last = app["status"]
            if app["status"] in ("completed", "rejected"):
                break
            if time.monotonic() > deadline:
                print("The office has not decided yet; look again later.")
                return 5
            time.sleep(args.poll)
        if not app["print_enabled"]:
            return 5

        # Step 8: "Çap et" — the debt is checked at this moment.
        r = api.post(f"/applications/{app_id}/print")
        if r.status_code == 200:
            number = r.headers.get("x-certificate-number", f"arayis-{app_id}")
            out = args.out or Path(f"{number}.pdf")
            out.write_bytes(r.content)
            # Step 9: the subscriber has the certificate.
            print(f"Arayış {number}: {out} ({len(r.content)} bayt)")
            return 0
        if r.status_code == 409 and r.headers.get("content-type", "").startswith(
            "application/problem+json"
        ):
            problem = r.json()
            if problem["code"] == "debt":
                print(f"Xəbərdarlıq: {problem['warning']}")
                return 3
        return refused(r)


if __name__ == "__main__":
    sys.exit(main())
