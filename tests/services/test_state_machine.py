"""Property-based state machine over the service layer: random submit / attach / review /
approve / reject / pay / charge / print, with the store's invariants checked after every
step. CI runs a bounded number of examples; for a longer local run:

    ARAYIS_STATEFUL_EXAMPLES=500 ARAYIS_STATEFUL_STEPS=60 .venv/bin/python -m pytest \\
        tests/services/test_state_machine.py
"""

from __future__ import annotations

import os
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from sqlalchemy import func, select

from arayis_cli import db
from arayis_cli.calendar import calendar
from arayis_cli.config import DEFAULT_ORGANISATION
from arayis_cli.errors import AlreadyIssued, Conflict, DebtOutstanding, InvalidInput, NotFound
from arayis_cli.models import Application, Certificate, Event, LedgerEntry, OutboxMessage
from arayis_cli.services import Terms, abonents, applications, decisions, printing
from arayis_cli.services.common import balance
from arayis_cli.services.dbcheck import check
from arayis_cli.services.documents import Upload, attach
from arayis_cli.workflow import OPEN_STATUSES, Action, Status
from tests.helpers import issuer

CODES = [f"00000000{i:02d}" for i in range(1, 5)]
FINS = ["AAAAAA1", "BBBBBB2", "CCCCCC3", "DDDDDD4"]
START = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
# The service description's table, written out independently of arayis_cli.workflow.
ALLOWED = {
    (Status.NEW, Action.REVIEW): Status.IN_PROGRESS,
    (Status.NEW, Action.REJECT): Status.REJECTED,
    (Status.IN_PROGRESS, Action.APPROVE): Status.COMPLETED,
    (Status.IN_PROGRESS, Action.REJECT): Status.REJECTED,
}
TERMS = Terms(DEFAULT_ORGANISATION, calendar())
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


class Workflow(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        os.environ["ARAYIS_HOME"] = str(Path(self.tmp.name) / "home")
        self.url = f"sqlite:///{Path(self.tmp.name) / 'sm.db'}"
        self.issuer = issuer()  # its keys in this ARAYIS_HOME
        self.clock = START
        self.model: dict[int, Status] = {}  # application → status we expect
        self.transitions: dict[int, int] = {}  # application → transitions applied
        self.ledger: dict[str, Decimal] = dict.fromkeys(CODES, Decimal("0.00"))
        self.codes: dict[int, str] = {}  # application → abonent code
        self.printed: set[int] = set()  # applications with a current certificate
        with db.session_scope(self.url) as s:
            for code, fin in zip(CODES, FINS, strict=True):
                abonents.add_abonent(
                    s,
                    code_lengths=(6, 12),
                    now=self.clock,
                    code=code,
                    group="I",
                    owner_name="Əliyev Əli",
                    owner_fin=fin,
                    address="Bakı şəhəri",
                )

    def teardown(self) -> None:
        db.dispose_all()
        self.tmp.cleanup()

    def tick(self) -> datetime:
        self.clock += timedelta(minutes=7)
        return self.clock

    def session(self):  # type: ignore[no-untyped-def]
        return db.session_scope(self.url)

    # -- rules ---------------------------------------------------------------------------

    @rule(who=st.integers(0, 3), own_fin=st.booleans())
    def submit(self, who: int, own_fin: bool) -> None:
        sub = applications.validate_submission(
            now=self.clock,
            code_lengths=(6, 12),
            abonent=CODES[who],
            fin=FINS[who] if own_fin else "ZZZZZZ9",
            phone="0501234567",
            email="a@example.az",
        )
        open_now = any(
            s in OPEN_STATUSES for a, s in self.model.items() if self.code_of(a) == CODES[who]
        )
        try:
            with self.session() as s:
                app, created = applications.submit(s, sub, now=self.tick(), actor="t", terms=TERMS)
                app_id = app.id
        except Conflict:
            assert open_now
            return
        assert not open_now and created and app_id is not None
        self.model[app_id] = Status.NEW
        self.transitions[app_id] = 1
        self.codes[app_id] = CODES[who]

    def code_of(self, app_id: int) -> str:
        return self.codes[app_id]

    def pick(self, data: st.DataObject) -> int | None:
        if not self.model:
            return None
        return data.draw(st.sampled_from(sorted(self.model)))

    @rule(data=st.data(), kind=st.sampled_from(["id-card", "ownership"]))
    def attach_document(self, data: st.DataObject, kind: str) -> None:
        app_id = self.pick(data)
        if app_id is None:
            return
        content = PDF + uuid.uuid4().hex.encode()
        content = content + b"\n%%EOF\n"
        import hashlib

        upload = Upload("copy.pdf", content, "application/pdf", hashlib.sha256(content).hexdigest())
        try:
            with self.session() as s:
                attach(s, app_id=app_id, uploads=[upload], kind=kind, now=self.tick(), actor="t")
        except Conflict:
            assert self.model[app_id] not in OPEN_STATUSES
            return
        assert self.model[app_id] in OPEN_STATUSES

    @rule(data=st.data(), action=st.sampled_from(list(Action)), override=st.booleans())
    def decide(self, data: st.DataObject, action: Action, override: bool) -> None:
        app_id = self.pick(data)
        if app_id is None:
            return
        before = self.model[app_id]
        try:
            with self.session() as s:
                if action is Action.REVIEW:
                    decisions.review(s, app_id, now=self.tick(), actor="t")
                elif action is Action.APPROVE:
                    decisions.approve(
                        s,
                        app_id,
                        override="ok" if override else None,
                        now=self.tick(),
                        actor="t",
                        terms=TERMS,
                    )
                else:
                    decisions.reject(
                        s, app_id, reason="Uyğunsuzluq", now=self.tick(), actor="t", terms=TERMS
                    )
        except Conflict:
            # Refused: either the table forbids it, or (approve) the checklist failed.
            assert ALLOWED.get((before, action)) is None or (
                action is Action.APPROVE and not override
            )
            return
        after = ALLOWED.get((before, action))
        assert after is not None
        self.model[app_id] = after
        self.transitions[app_id] += 1

    @rule(who=st.integers(0, 3), cents=st.integers(1, 5000))
    def pay(self, who: int, cents: int) -> None:
        amount = Decimal(cents) / 100
        with self.session() as s:
            abonents.pay(
                s,
                code=CODES[who],
                amount=str(amount),
                reference=None,
                paid_at=None,
                now=self.tick(),
                code_lengths=(6, 12),
                # Each step is another payment: the same amount twice in a day without a
                # reference is otherwise refused as a likely rerun (hypothesis found it).
                again=True,
            )
        self.ledger[CODES[who]] -= amount

    @rule(who=st.integers(0, 3), cents=st.integers(1, 5000))
    def charge(self, who: int, cents: int) -> None:
        amount = Decimal(cents) / 100
        with self.session() as s:
            s.add(
                LedgerEntry(
                    abonent_code=CODES[who],
                    entry_date=self.clock.date(),
                    kind="charge",
                    amount_qepik=cents,
                    reference=uuid.uuid4().hex,
                    created_at=self.tick(),
                )
            )
        self.ledger[CODES[who]] += amount

    @rule(data=st.data())
    def print_certificate(self, data: st.DataObject) -> None:
        app_id = self.pick(data)
        if app_id is None:
            return
        debt = max(Decimal("0.00"), self.ledger[self.code_of(app_id)])
        try:
            with self.session() as s:
                printing.print_certificate(
                    s, app_id, now=self.tick(), actor="t", issuer=self.issuer
                )
        except AlreadyIssued:  # printed once: the same paper again is --copy, not print
            assert app_id in self.printed
            return
        except Conflict:
            assert self.model[app_id] is not Status.COMPLETED
            return
        except DebtOutstanding as exc:
            assert self.model[app_id] is Status.COMPLETED and exc.debt == debt > 0
            assert app_id not in self.printed
            return
        except (InvalidInput, NotFound):
            raise
        assert self.model[app_id] is Status.COMPLETED and debt == 0
        assert app_id not in self.printed
        self.printed.add(app_id)

    # -- invariants ----------------------------------------------------------------------

    @invariant()
    def store_matches_the_model(self) -> None:
        with db.session_scope(self.url, write=False) as s:
            for app_id, status in s.execute(select(Application.id, Application.status)):
                assert Status(status) is self.model[app_id]
            counts = dict(
                s.execute(
                    select(Event.application_id, func.count())
                    .where(Event.to_status.is_not(None))
                    .group_by(Event.application_id)
                ).all()
            )
            assert counts == {a: n for a, n in self.transitions.items()}
            decision_mails = dict(
                s.execute(
                    select(OutboxMessage.application_id, func.count())
                    .where(OutboxMessage.kind != "received")
                    .group_by(OutboxMessage.application_id)
                ).all()
            )
            assert all(n <= 1 for n in decision_mails.values())
            assert all(bal <= 0 for bal in s.execute(select(Certificate.balance_qepik)).scalars())
            for code, expected in self.ledger.items():
                assert balance(s, code, as_of=self.clock) == expected
            open_codes = [self.codes[a] for a, st_ in self.model.items() if st_ in OPEN_STATUSES]
            assert len(open_codes) == len(set(open_codes))
            assert check(s).ok, check(s).problems


Workflow.TestCase.settings = settings(
    max_examples=int(os.environ.get("ARAYIS_STATEFUL_EXAMPLES", "12")),
    stateful_step_count=int(os.environ.get("ARAYIS_STATEFUL_STEPS", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestWorkflow = Workflow.TestCase


class _Drawn:
    """``data.draw`` answering from a list: a rule run by hand, as hypothesis would."""

    def __init__(self, *values: object) -> None:
        self.values = list(values)

    def draw(self, strategy: object, label: object = None) -> object:
        return self.values.pop(0)


def test_the_model_knows_a_printed_application_is_refused_as_already_issued() -> None:
    """What hypothesis found (a new seed, a fresh machine): one application printed twice.
    The second print is refused (`AlreadyIssued`: the same paper is `print --copy`); the
    model must expect that, and nothing else, of an application it saw printed."""
    machine = Workflow()
    try:
        machine.submit(who=0, own_fin=False)
        (app_id,) = machine.model
        machine.decide(_Drawn(app_id), action=Action.REVIEW, override=False)  # type: ignore[arg-type]
        machine.decide(_Drawn(app_id), action=Action.APPROVE, override=True)  # type: ignore[arg-type]
        machine.print_certificate(_Drawn(app_id))  # type: ignore[arg-type]
        assert machine.printed == {app_id}
        machine.print_certificate(_Drawn(app_id))  # type: ignore[arg-type]
        machine.store_matches_the_model()
    finally:
        machine.teardown()
