"""The business kind, decided once: subscription (contractual) or purchase log (non-contractual).

Retention, churn, "active" and customer value mean different things in the two settings (Fader &
Hardie, "Probability models for customer-base analysis", 2009): a subscriber's leaving is
recorded (a churn flag, a churn date, or payments that stop), while a buyer's leaving is never
seen and must be inferred by a purchase model (BG/NBD, Pareto/NBD). Every page reads the kind
from `detect_business_kind` (or the user's override) and picks its definitions from it.

    kind = detect_business_kind(data)              # BusinessKind(kind, reason, detected, chosen)
    kind = detect_business_kind(data, override="purchase_log")
    rows = list_assumptions(data, kind)            # what the analysis assumed, for the Data page
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from analytics.data import schema as s

SUBSCRIPTION = "subscription"
PURCHASE_LOG = "purchase_log"
KINDS: dict[str, str] = {
    SUBSCRIPTION: "Subscription (customers who leave are recorded)",
    PURCHASE_LOG: "Purchase log (customers leave silently; a purchase model infers who is still active)",
}
#: Payments count as "regular" for a customer whose gaps between purchases vary by less than this
#: share of their mean gap (coefficient of variation), over at least MIN_REGULAR_PAYMENTS purchases.
REGULAR_GAP_CV = 0.25
MIN_REGULAR_PAYMENTS = 4
#: A purchase log is read as subscription payments when most repeat payers pay regularly.
REGULAR_SHARE = 0.5


@dataclass(frozen=True)
class BusinessKind:
    """Which kind of business the data describes.

    Attributes
    ----------
    kind : SUBSCRIPTION or PURCHASE_LOG, the one every page uses.
    reason : one plain sentence on why (the evidence, or that the user chose it).
    detected : what the data alone suggests (equal to `kind` unless overridden).
    chosen : True when the user overrode the detection.
    """

    kind: str
    reason: str
    detected: str
    chosen: bool = False

    @property
    def label(self) -> str:
        return KINDS[self.kind]

    @property
    def is_subscription(self) -> bool:
        return self.kind == SUBSCRIPTION

    def as_dict(self) -> dict:
        """The decision as plain values (for the report).

        Returns
        -------
        dict
            Every field by name.
        """
        return asdict(self) | {"label": self.label}


def regular_payer_share(transactions: pd.DataFrame) -> tuple[float, int]:
    """Share of customers with MIN_REGULAR_PAYMENTS+ purchase days whose gaps are regular, and their count.

    Parameters
    ----------
    transactions : pd.DataFrame
        Cleaned transactions.

    Returns
    -------
    tuple of (float, int)
        (share 0..1, customers with enough purchase days to judge).
    """
    from analytics.engine.customer_days import customer_days

    # One row per (customer, purchase day), sorted by customer then day: the gaps between a
    # customer's purchase days are the differences between consecutive rows of the same customer.
    table = customer_days(transactions)
    gaps_per_customer = np.bincount(table.customer, minlength=len(table.customer_ids)) - 1
    eligible = gaps_per_customer >= MIN_REGULAR_PAYMENTS - 1
    if not eligible.any():
        return 0.0, 0
    same = table.customer[1:] == table.customer[:-1]
    owner = table.customer[1:][same]
    gap = np.diff(table.day)[same].astype(np.float64)
    count = np.maximum(gaps_per_customer, 0)
    mean = np.bincount(owner, weights=gap, minlength=len(count)) / np.maximum(count, 1)
    squares = np.bincount(owner, weights=(gap - mean[owner]) ** 2, minlength=len(count))
    with np.errstate(invalid="ignore", divide="ignore"):
        std = np.where(count > 1, np.sqrt(squares / (count - 1)), np.nan)  # sample std (ddof 1), as pandas
        cv = std[eligible] / mean[eligible]
    cv[np.isinf(cv)] = np.nan
    return float(np.mean(cv < REGULAR_GAP_CV)), int(eligible.sum())


def detect_business_kind(data: s.CustomerData, override: str | None = None) -> BusinessKind:
    """Subscription or purchase log, with the evidence in one sentence.

    Subscription when a customers table records leaving (a churned flag, a churn date or a
    tenure column), or when most customers seen paying at least MIN_REGULAR_PAYMENTS times pay at
    regular intervals (gaps varying by less than 25%). Otherwise a purchase log.

    Parameters
    ----------
    data : CustomerData
        The dataset.
    override : str, optional
        SUBSCRIPTION or PURCHASE_LOG, replacing the detection (the reason says so).

    Returns
    -------
    BusinessKind
        The kind, the reason and whether it was detected.
    """
    detected, reason = _detect(data)
    if override is None or override == detected:
        return BusinessKind(detected, reason, detected, chosen=override is not None)
    if override not in KINDS:
        raise s.DataError(f"Unknown business kind '{override}': use {' or '.join(KINDS)}.")
    if override == SUBSCRIPTION and not _can_be_subscription(data):
        raise s.DataError(
            "This data cannot be read as a subscription: it has no customers table with churn or tenure and "
            "no purchase log to take payments from."
        )
    if override == PURCHASE_LOG and not data.has_transactions:
        raise s.DataError("This data cannot be read as a purchase log: it has no purchases (dates and amounts).")
    return BusinessKind(
        override,
        f"Chosen by you (the data suggested {KINDS[detected].split(' (')[0].lower()}: {reason})",
        detected,
        True,
    )


def _can_be_subscription(data: s.CustomerData) -> bool:
    return data.has_transactions or any(data.has_column(r) for r in (s.CHURNED, s.CHURN_DATE, s.TENURE_MONTHS))


def _detect(data: s.CustomerData) -> tuple[str, str]:
    recorded = [r for r in (s.CHURNED, s.CHURN_DATE, s.TENURE_MONTHS) if data.has_column(r)]
    if recorded:
        columns = _user_columns(data, recorded)
        return SUBSCRIPTION, f"the customers table records who left and for how long they stayed ({columns})"
    if not data.has_transactions:
        return SUBSCRIPTION, "there is only a customers table (no purchases to model)"
    share, eligible = regular_payer_share(data.require_transactions())
    if eligible and share >= REGULAR_SHARE:
        return SUBSCRIPTION, (
            f"{share:.0%} of the {eligible:,} customers with {MIN_REGULAR_PAYMENTS}+ payments pay at regular "
            "intervals, like subscribers"
        )
    detail = (
        f"only {share:.0%} of the {eligible:,} customers with {MIN_REGULAR_PAYMENTS}+ purchases buy at regular intervals"
        if eligible
        else f"no customer has {MIN_REGULAR_PAYMENTS}+ purchases to show a regular rhythm"
    )
    return PURCHASE_LOG, f"the data is a purchase log with no record of who left, and {detail}"


def _user_columns(data: s.CustomerData, roles: list[str]) -> str:
    for report in data.reports:
        if report.table == s.CUSTOMERS:
            return ", ".join(f"'{report.columns.get(r, r)}'" for r in roles)
    return ", ".join(f"'{r}'" for r in roles)


@dataclass(frozen=True)
class Assumption:
    """One thing the analysis assumed that the data cannot settle, and where to change it.

    Attributes
    ----------
    name : str
        What was assumed (e.g. 'Date order').
    value : str
        The choice made.
    why : str
        Why, in plain words.
    change : str
        Where the user can change it.
    """

    name: str
    value: str
    why: str
    change: str

    def as_dict(self) -> dict:
        """The assumption as plain values (for the report).

        Returns
        -------
        dict
            name, value, why, change.
        """
        return asdict(self)


def list_assumptions(data: s.CustomerData, kind: BusinessKind | None = None) -> list[Assumption]:
    """What the analysis assumed (business kind, tenure unit, date order, duplicates, currency).

    Shown in a box on the Data page and in the report as `data.assumptions`.

    Parameters
    ----------
    data : CustomerData
        The dataset.
    kind : BusinessKind, optional
        The decided kind (detected when None).

    Returns
    -------
    list of Assumption
        In display order.
    """
    kind = kind or detect_business_kind(data)
    out = [
        Assumption(
            "Business kind",
            kind.label,
            kind.reason,
            "Data page: 'Read this data as' (or --business-kind in the CLI).",
        )
    ]
    for report in data.reports:
        if report.tenure_unit:
            out.append(
                Assumption(
                    "Tenure unit",
                    report.tenure_unit,
                    report.tenure_unit_reason[:1].upper() + report.tenure_unit_reason[1:] + ".",
                    "Data page, column mapping: 'The tenure column counts'.",
                )
            )
        date_notes = [n for n in report.notes if "ates read as" in n or "mixed formats" in n]
        if date_notes:
            guessed = any("guess" in n for n in date_notes)
            formats = sorted({n.split("read as ", 1)[1].split(".", 1)[0] for n in date_notes if "read as " in n})
            out.append(
                Assumption(
                    f"Date format ({report.table})",
                    ", ".join(formats) or "mixed formats",
                    " ".join(date_notes) if guessed else "Read from the data: " + " ".join(date_notes),
                    "Data page, column mapping: 'Dates like 03/04/2024 mean'.",
                )
            )
        if report.table == s.TRANSACTIONS:
            dropped = sum(e.rows for e in report.excluded if e.reason.startswith("Exact duplicate"))
            if report.possible_duplicates:
                value = f"{report.possible_duplicates:,} kept (possible duplicates)"
                why = (
                    "Rows that repeat an earlier row exactly were kept: the file has no order id, and the same "
                    "customer buying the same amount twice on one day is common."
                )
            elif dropped:
                value = f"{dropped:,} dropped"
                why = "Rows that repeat an earlier row exactly were dropped (same order id, or your choice)."
            else:
                value, why = "none found", "No row repeats an earlier row exactly."
            out.append(
                Assumption(
                    "Exact duplicate rows",
                    value,
                    why,
                    "Data page, column mapping: 'Drop rows that repeat an earlier row exactly'.",
                )
            )
    out.append(
        Assumption(
            "Currency",
            "the file's own currency",
            "Amounts are used as they are in the file: no currency is converted and one currency is assumed.",
            "Convert the amounts before uploading when a file mixes currencies.",
        )
    )
    return out
