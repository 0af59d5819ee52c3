"""Canonical column names and the cleaned-data container every capability consumes.

Everything downstream of ingestion (summaries, models, KPIs, pages, the headless report) reads
these names only. Ingestion (`analytics.data.io` + `analytics.data.cleaning`) is the one choke point that maps
a user's columns onto them.

Transactions (one row per purchase, cleaned):
    customer_id  str                 who bought
    order_date   datetime64[ns]      when (naive, local time of the export)
    amount       float64             net value of the purchase in the file's currency (> 0)
    order_id, quantity, product, channel   optional, kept when present

Customers (one row per customer):
    customer_id  str, unique
    optional canonical roles (see CUSTOMER_ROLES) plus any other attribute under its own name.
    `churned` is a nullable boolean; dates are datetime64[ns]; scores are float64.

The names `frequency`, `recency` (first to last purchase, BTYD meaning only), `T`,
`monetary_value` are reserved for the per-customer BTYD summary; RFM uses
`days_since_last_purchase` so `recency` keeps one meaning.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from analytics.data.codes import id_codes

CUSTOMER_ID = "customer_id"
ORDER_DATE = "order_date"
AMOUNT = "amount"
ORDER_ID = "order_id"
QUANTITY = "quantity"
PRODUCT = "product"
CHANNEL = "channel"

TRANSACTION_REQUIRED: tuple[str, ...] = (CUSTOMER_ID, ORDER_DATE, AMOUNT)
TRANSACTION_OPTIONAL: tuple[str, ...] = (ORDER_ID, QUANTITY, PRODUCT, CHANNEL)
TRANSACTION_ROLES: tuple[str, ...] = TRANSACTION_REQUIRED + TRANSACTION_OPTIONAL

# Customer-table roles. Values after cleaning:
SIGNUP_DATE = "signup_date"  # datetime64[ns]: when the customer was acquired
CHURNED = "churned"  # boolean (nullable): the customer has left
CHURN_DATE = "churn_date"  # datetime64[ns]: when the customer left (NaT while active)
TENURE_MONTHS = "tenure_months"  # float64: months as a customer (to churn, or to the data's end)
PLAN = "plan"  # str: plan / contract type
MONTHLY_CHARGE = "monthly_charge"  # float64: recurring charge per month, file currency
REGION = "region"  # str
NPS = "nps"  # float64 in 0..10: "how likely are you to recommend us"
CSAT = "csat"  # float64 in 1..5: satisfaction with the last interaction
CES = "ces"  # float64 in 1..7: customer effort score (lower = easier)
TICKETS = "support_tickets"  # float64: support tickets opened
RESOLUTION_HOURS = "resolution_hours"  # float64: average time to resolve a ticket, hours
ESCALATIONS = "escalations"  # float64: tickets escalated
FIRST_CONTACT_RESOLUTION = "first_contact_resolution"  # float64 share 0..1 (or boolean)
COMPLAINTS = "complaints"  # float64: complaints filed
ACQUISITION_COST = "acquisition_cost"  # float64: what it cost to win this customer

CUSTOMER_DATE_ROLES: tuple[str, ...] = (SIGNUP_DATE, CHURN_DATE)
CUSTOMER_NUMERIC_ROLES: tuple[str, ...] = (
    TENURE_MONTHS,
    MONTHLY_CHARGE,
    NPS,
    CSAT,
    CES,
    TICKETS,
    RESOLUTION_HOURS,
    ESCALATIONS,
    FIRST_CONTACT_RESOLUTION,
    COMPLAINTS,
    ACQUISITION_COST,
)
CUSTOMER_TEXT_ROLES: tuple[str, ...] = (PLAN, REGION)
CUSTOMER_ROLES: tuple[str, ...] = (CHURNED, *CUSTOMER_DATE_ROLES, *CUSTOMER_NUMERIC_ROLES, *CUSTOMER_TEXT_ROLES)

TRANSACTIONS = "transactions"
CUSTOMERS = "customers"


class DataError(ValueError):
    """Input that cannot be used. The message is written for the person who uploaded the file."""


@dataclass(frozen=True)
class Exclusion:
    """Rows left out of the analysis for one reason.

    Attributes
    ----------
    reason : str
        Plain-word reason, e.g. "amount is not a number".
    rows : int
        How many rows.
    table : str
        TRANSACTIONS or CUSTOMERS.
    examples : tuple of int
        Up to five 1-based row numbers in the file (header = row 1).
    """

    reason: str
    rows: int
    table: str = TRANSACTIONS
    examples: tuple[int, ...] = ()  # 1-based row numbers in the file (header = row 1), at most 5


@dataclass(frozen=True)
class TableReport:
    """What ingestion did with one table: rows_read == rows_used + sum(excluded rows).

    Attributes
    ----------
    table : str
        TRANSACTIONS or CUSTOMERS.
    source : str
        File name or dataset description.
    rows_read, rows_used : int
        Data rows in the file, and of them those kept.
    excluded : tuple of Exclusion
        The rows left out, grouped by reason.
    columns : dict
        Canonical role -> the user's column name.
    notes : tuple of str
        Plain-word decisions, e.g. "Dates read day-first (31/01/2024)."
    possible_duplicates : int
        Rows that repeat an earlier row exactly but were kept (a purchase log without an order id:
        two same-day purchases of the same amount are common and cannot be told from a copy).
    """

    table: str  # TRANSACTIONS or CUSTOMERS
    source: str  # file name or dataset description
    rows_read: int
    rows_used: int
    excluded: tuple[Exclusion, ...]
    columns: dict[str, str]  # canonical role -> the user's column name
    notes: tuple[str, ...] = ()  # plain-word decisions, e.g. "Dates read day-first (31/01/2024)."
    # Rows that repeat an earlier row exactly but were KEPT (a purchase log without an order id:
    # two same-day purchases of the same amount are common and cannot be told from a copy).
    possible_duplicates: int = 0
    # The unit the file's tenure column was read in ('months', 'years', 'days') and why; the
    # cleaned `tenure_months` is always in months. None when the table has no tenure column.
    tenure_unit: str | None = None
    tenure_unit_reason: str = ""
    currency: str | None = None  # ISO 4217 code written beside the amounts ("$12.50" -> "USD"), None if none

    @property
    def rows_excluded(self) -> int:
        return sum(e.rows for e in self.excluded)


@dataclass(frozen=True)
class CustomerData:
    """A cleaned dataset: transactions, customers, or both (joined on `customer_id`).

    `observation_end` is the last day the data covers (the latest purchase, or for a customers
    table the latest signup/churn date); models treat it as "today".

    Attributes
    ----------
    name : str
        The dataset's name.
    transactions : pd.DataFrame or None
        The cleaned purchase log in canonical columns (`customer_id`, `order_date`, `amount`, ...).
    customers : pd.DataFrame or None
        The cleaned customers table (`customer_id` unique, canonical roles plus other attributes).
    reports : tuple of TableReport
        One per table: rows read, used and excluded (with reasons), and the cleaning decisions.
    description : str
        Where the data comes from.
    """

    name: str
    transactions: pd.DataFrame | None = None
    customers: pd.DataFrame | None = None
    reports: tuple[TableReport, ...] = field(default_factory=tuple)
    description: str = ""
    # Things the user must know that are not about one table, e.g. how well two tables' ids overlap.
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.transactions is None and self.customers is None:
            raise DataError("No data: provide a transactions table, a customers table, or both.")

    @property
    def currency(self) -> str | None:
        """ISO 4217 code of the money figures when the file wrote one ($, EUR, ...); None when unknown."""
        for table in (TRANSACTIONS, CUSTOMERS):
            for report in self.reports:
                if report.table == table and report.currency:
                    return report.currency
        return None

    @property
    def has_transactions(self) -> bool:
        return self.transactions is not None and len(self.transactions) > 0

    @property
    def has_customers(self) -> bool:
        return self.customers is not None and len(self.customers) > 0

    def has_column(self, role: str) -> bool:
        """Whether the customers table carries a canonical role with at least one value.

        Parameters
        ----------
        role : str
            A canonical column name, e.g. ``"churned"`` or ``"monthly_charge"``.

        Returns
        -------
        bool
            True when the column exists and is not entirely empty.
        """
        return (
            self.customers is not None and role in self.customers.columns and bool(self.customers[role].notna().any())
        )

    def require_transactions(self, purpose: str = "This analysis") -> pd.DataFrame:
        """The purchase log, for code that cannot go on without one (typed: never None).

        Parameters
        ----------
        purpose : str
            What needs it, starting the error message (e.g. "Lifetime value").

        Returns
        -------
        pd.DataFrame
            `transactions`, with at least one row.

        Raises
        ------
        DataError
            "<purpose> needs purchases (customer id, order date, amount)." when there are none.
        """
        if self.transactions is None or len(self.transactions) == 0:
            raise DataError(f"{purpose} needs purchases (customer id, order date, amount).")
        return self.transactions

    def require_customers(self, purpose: str = "This analysis") -> pd.DataFrame:
        """The customers table, for code that cannot go on without one (typed: never None).

        Parameters
        ----------
        purpose : str
            What needs it, starting the error message (e.g. "The retention model").

        Returns
        -------
        pd.DataFrame
            `customers`, with at least one row.

        Raises
        ------
        DataError
            "<purpose> needs a customers table (one row per customer)." when there is none.
        """
        if self.customers is None or len(self.customers) == 0:
            raise DataError(f"{purpose} needs a customers table (one row per customer).")
        return self.customers

    @property
    def customer_ids(self) -> pd.Index:
        ids = []
        if self.transactions is not None:
            known = id_codes(self.transactions, CUSTOMER_ID)  # cleaning's distinct ids, same order
            ids.append(known.uniques if known is not None else pd.Index(self.transactions[CUSTOMER_ID].unique()))
        if self.customers is not None:
            ids.append(pd.Index(self.customers[CUSTOMER_ID]))
        out = ids[0]
        for more in ids[1:]:
            out = out.union(more)
        return out

    @property
    def n_customers(self) -> int:
        return len(self.customer_ids)

    @property
    def has_dates(self) -> bool:
        """True when any table carries a date (a purchase date, or a signup/churn date)."""
        return self.observation_end_or_none is not None

    @property
    def observation_end_or_none(self) -> pd.Timestamp | None:
        """The observation end, or None for data without any date (e.g. a churn table with tenure only)."""
        try:
            return self.observation_end
        except DataError:
            return None

    @property
    def observation_end(self) -> pd.Timestamp:
        candidates: list[pd.Timestamp] = []
        if self.transactions is not None and len(self.transactions):
            candidates.append(self.transactions[ORDER_DATE].max())
        if self.customers is not None:
            for role in CUSTOMER_DATE_ROLES:
                if role in self.customers.columns and self.customers[role].notna().any():
                    candidates.append(self.customers[role].max())
        if not candidates:
            raise DataError(
                "The data has no dates, so there is no observation period: add a purchase log "
                "(customer id, date, amount) or a signup/churn date column to the customers table."
            )
        return max(candidates).normalize()


def merge_order_lines(transactions: pd.DataFrame) -> pd.DataFrame:
    """One row per order: line items with the same `order_id` merged (earliest date, summed amount).

    Without a complete `order_id` column every row is taken as one order. Used by every figure
    that counts orders (KPIs, cohorts, lifecycle, RFM).

    Parameters
    ----------
    transactions : pd.DataFrame
        Canonical transactions.

    Returns
    -------
    pd.DataFrame
        `customer_id`, `order_date`, `amount`, one row per order.
    """
    tx = transactions
    if ORDER_ID in tx.columns and tx[ORDER_ID].notna().all():
        return (
            tx.groupby([CUSTOMER_ID, ORDER_ID], sort=False, observed=True)
            .agg(**{ORDER_DATE: (ORDER_DATE, "min"), AMOUNT: (AMOUNT, "sum")})
            .reset_index()[[CUSTOMER_ID, ORDER_DATE, AMOUNT]]
        )
    return tx[[CUSTOMER_ID, ORDER_DATE, AMOUNT]]
