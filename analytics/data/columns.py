"""Guess which of the user's columns plays which role, and what kind of table a file is.

A guess is made by name (a synonym list in English and German, compared without case, spaces or
punctuation) and confirmed by content (a date column must mostly read as dates, an amount column
as numbers). The result is a `ColumnMapping` the user can correct in the app; cleaning only ever
uses the mapping, never the raw guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import pandas as pd

from analytics.data import schema as s
from analytics.data.parsing import date_share, distinct, flag_share_readable, is_blank, numeric_share


def normalise_name(name: str) -> str:
    """A header reduced for matching: 'Customer ID' -> 'customerid', 'Kunden-Nr.' -> 'kundennr'.

    Parameters
    ----------
    name : str
        A column header.

    Returns
    -------
    str
        Lower case, letters and digits only.
    """
    return re.sub(r"[^0-9a-zäöüß]", "", str(name).lower())


# Role -> name synonyms (normalised). Order inside a list does not matter; exact matches win over
# "contains" matches, and roles earlier in ROLE_ORDER claim a column first.
SYNONYMS: dict[str, tuple[str, ...]] = {
    s.CUSTOMER_ID: (
        "customerid",
        "customer",
        "custid",
        "customerno",
        "customernumber",
        "client",
        "clientid",
        "kunde",
        "kundenid",
        "kundennr",
        "kundennummer",
        "userid",
        "user",
        "accountid",
        "account",
        "memberid",
        "member",
        "buyerid",
        "buyer",
        "shopperid",
        "subscriberid",
        "customercode",
        "customerkey",
        "id",
    ),
    s.ORDER_DATE: (
        "orderdate",
        "invoicedate",
        "purchasedate",
        "transactiondate",
        "paymentdate",
        "saledate",
        "date",
        "datum",
        "bestelldatum",
        "rechnungsdatum",
        "orderdatetime",
        "timestamp",
        "createdat",
        "ordertime",
        "purchasetime",
        "transactiontime",
        "invoicedatetime",
        "day",
    ),
    s.AMOUNT: (
        "amount",
        "totalprice",
        "total",
        "revenue",
        "sales",
        "salesamount",
        "value",
        "ordervalue",
        "ordertotal",
        "netamount",
        "grossamount",
        "paymentamount",
        "spend",
        "dollarvalue",
        "betrag",
        "umsatz",
        "gesamtbetrag",
        "price",
        "lineamount",
        "linetotal",
        "totalamount",
        "amountpaid",
        "sum",
    ),
    s.ORDER_ID: (
        "orderid",
        "invoiceno",
        "invoice",
        "invoicenumber",
        "invoiceid",
        "orderno",
        "ordernumber",
        "transactionid",
        "receipt",
        "rechnungsnr",
        "bestellnr",
        "order",
    ),
    s.QUANTITY: ("quantity", "qty", "units", "numberofcds", "menge", "anzahl", "items"),
    s.PRODUCT: (
        "product",
        "productname",
        "item",
        "sku",
        "stockcode",
        "description",
        "artikel",
        "productid",
        "category",
    ),
    s.CHANNEL: ("channel", "saleschannel", "source", "store", "kanal"),
    s.SIGNUP_DATE: (
        "signupdate",
        "signup",
        "joindate",
        "joined",
        "startdate",
        "customersince",
        "registrationdate",
        "registered",
        "createddate",
        "acquisitiondate",
        "subscriptionstart",
        "firstorderdate",
        "dateofjoining",
        "anmeldedatum",
    ),
    s.CHURNED: (
        "churn",
        "churned",
        "churnlabel",
        "churnvalue",
        "churnflag",
        "exited",
        "attrition",
        "attritionflag",
        "left",
        "hasleft",
        "cancelled",
        "canceled",
        "isactive",
        "active",
        "status",
        "customerstatus",
        "gekuendigt",
    ),
    s.CHURN_DATE: (
        "churndate",
        "canceldate",
        "cancellationdate",
        "enddate",
        "leftdate",
        "terminationdate",
        "exitdate",
        "kuendigungsdatum",
    ),
    s.TENURE_MONTHS: ("tenure", "tenuremonths", "monthsascustomer", "tenureinmonths", "monthsonbook"),
    s.PLAN: (
        "plan",
        "contract",
        "contracttype",
        "subscription",
        "subscriptiontype",
        "tier",
        "plantype",
        "package",
        "tarif",
        "vertrag",
    ),
    s.MONTHLY_CHARGE: (
        "monthlycharge",
        "monthlycharges",
        "monthlyfee",
        "mrr",
        "monthlyamount",
        "monthlyprice",
        "monthlyrevenue",
        "monatsbeitrag",
    ),
    s.REGION: ("region", "country", "state", "area", "market", "land"),
    s.NPS: (
        "nps",
        "npsscore",
        "likelihoodtorecommend",
        "recommend",
        "recommendscore",
        "netpromoterscore",
        "weiterempfehlung",
    ),
    s.CSAT: ("csat", "csatscore", "satisfaction", "satisfactionscore", "customersatisfaction", "zufriedenheit"),
    s.CES: ("ces", "cesscore", "customereffort", "customereffortscore", "effortscore", "effort"),
    s.TICKETS: (
        "tickets",
        "supporttickets",
        "numtickets",
        "numberoftickets",
        "ticketcount",
        "supportcalls",
        "numtechtickets",
        "servicecalls",
        "customerservicecalls",
    ),
    s.RESOLUTION_HOURS: (
        "resolutionhours",
        "avgresolutionhours",
        "resolutiontime",
        "averageresolutiontime",
        "avgresolutiontime",
        "timetoresolve",
    ),
    s.ESCALATIONS: ("escalations", "escalated", "numescalations", "escalationcount"),
    s.FIRST_CONTACT_RESOLUTION: ("firstcontactresolution", "fcr", "resolvedfirstcontact", "firstcallresolution"),
    s.COMPLAINTS: ("complaints", "complain", "numcomplaints", "complaintcount"),
    s.ACQUISITION_COST: ("acquisitioncost", "cac", "costofacquisition", "marketingcost"),
}

TRANSACTION_ROLE_ORDER = (s.CUSTOMER_ID, s.ORDER_DATE, s.AMOUNT, s.ORDER_ID, s.QUANTITY, s.PRODUCT, s.CHANNEL)
CUSTOMER_ROLE_ORDER = (
    s.CUSTOMER_ID,
    s.CHURN_DATE,
    s.SIGNUP_DATE,
    s.CHURNED,
    s.TENURE_MONTHS,
    s.MONTHLY_CHARGE,
    s.PLAN,
    s.REGION,
    s.NPS,
    s.CSAT,
    s.CES,
    s.TICKETS,
    s.RESOLUTION_HOURS,
    s.ESCALATIONS,
    s.FIRST_CONTACT_RESOLUTION,
    s.COMPLAINTS,
    s.ACQUISITION_COST,
)

_DATE_ROLES = {s.ORDER_DATE, s.SIGNUP_DATE, s.CHURN_DATE}
_NUMBER_ROLES = {s.AMOUNT, s.QUANTITY, *s.CUSTOMER_NUMERIC_ROLES}


@dataclass(frozen=True)
class ColumnMapping:
    """Which user column plays which canonical role, for one table.

    Attributes
    ----------
    kind : str
        TRANSACTIONS or CUSTOMERS.
    roles : dict of str to str
        Canonical role -> the user's column.
    day_first : bool or None
        Forces the date reading (None = decide from the data).
    unit_price : str or None
        A price column multiplied by quantity when the file has no amount column.
    drop_exact_duplicates : bool
        In a purchase log without an order id, exact repeats of an earlier row are kept (flagged as
        possible duplicates) unless this is True; with an order id they are always dropped.
    tenure_unit : str or None
        'months', 'years' or 'days' for the tenure column (None = infer from its header and range;
        see `analytics.data.cleaning.infer_tenure_unit`).
    """

    kind: str
    roles: dict[str, str] = field(default_factory=dict)
    day_first: bool | None = None
    unit_price: str | None = None
    drop_exact_duplicates: bool = False
    tenure_unit: str | None = None

    def with_role(self, role: str, column: str | None) -> ColumnMapping:
        """A copy with one role moved to another column (or removed).

        Parameters
        ----------
        role : str
            A canonical role.
        column : str or None
            The user's column to play it; None removes the role.

        Returns
        -------
        ColumnMapping
            The new mapping (a column plays at most one role).
        """
        roles = {r: c for r, c in self.roles.items() if r != role and c != column}
        if column:
            roles[role] = column
        return replace(self, roles=roles)

    def to_dict(self) -> dict:
        """The mapping as plain JSON values (for share links and session state).

        Returns
        -------
        dict
            Every field by name; `from_dict` reads it back.
        """
        return {
            "kind": self.kind,
            "roles": dict(self.roles),
            "day_first": self.day_first,
            "unit_price": self.unit_price,
            "drop_exact_duplicates": self.drop_exact_duplicates,
            "tenure_unit": self.tenure_unit,
        }

    @classmethod
    def from_dict(cls, raw: dict) -> ColumnMapping:
        """The mapping stored by `to_dict`.

        Parameters
        ----------
        raw : dict
            `to_dict` output (fields missing in older links take their defaults).

        Returns
        -------
        ColumnMapping
            The mapping.
        """
        return cls(
            kind=raw["kind"],
            roles=dict(raw.get("roles", {})),
            day_first=raw.get("day_first"),
            unit_price=raw.get("unit_price"),
            drop_exact_duplicates=bool(raw.get("drop_exact_duplicates", False)),
            tenure_unit=raw.get("tenure_unit"),
        )


def _content_fits(role: str, values: pd.Series) -> bool:
    if role in _DATE_ROLES:
        return date_share(values) >= 0.8
    if role in _NUMBER_ROLES:
        return numeric_share(values) >= 0.8
    if role == s.CHURNED:
        return flag_share_readable(values) >= 0.9 or date_share(values) >= 0.8
    return True


def _name_matches(role: str, columns: list[str]) -> list[str]:
    """Columns whose normalised name equals a synonym, then those that contain one (len >= 4)."""
    names = {c: normalise_name(c) for c in columns}
    synonyms = SYNONYMS[role]
    exact = sorted((c for c in columns if names[c] in synonyms), key=lambda c: synonyms.index(names[c]))
    contains = [c for c in columns if c not in exact and any(len(syn) >= 4 and syn in names[c] for syn in synonyms)]
    return exact + contains


def _assign(frame: pd.DataFrame, role_order: tuple[str, ...]) -> dict[str, str]:
    columns = list(frame.columns)
    taken: set[str] = set()
    roles: dict[str, str] = {}
    sample = frame.head(5000)
    names = {c: normalise_name(c) for c in columns}
    for role in role_order:
        for column in _name_matches(role, columns):
            # An exact name is the user's own statement: keep it even when the cells do not read,
            # so cleaning counts the unreadable rows instead of the file changing its kind.
            exact = names[column] in SYNONYMS[role] and names[column] not in (
                "id",
                "date",
                "value",
                "status",
                "active",
                "total",
            )
            if column in taken or not (exact or _content_fits(role, sample[column])):
                continue
            roles[role] = column
            taken.add(column)
            break
    return roles


def _fallback_by_content(frame: pd.DataFrame, roles: dict[str, str]) -> dict[str, str]:
    """Fill a missing date or amount from content: the first date-like / decimal column left."""
    sample = frame.head(5000)
    free = [c for c in frame.columns if c not in roles.values()]
    if s.ORDER_DATE not in roles:
        for column in free:
            if date_share(sample[column]) >= 0.9:
                roles[s.ORDER_DATE] = column
                free.remove(column)
                break
    if s.AMOUNT not in roles:
        for column in free:
            text = sample[column].astype("string")
            decimals = text.str.contains(r"\d[.,]\d{2}$", regex=True).mean()
            if numeric_share(sample[column]) >= 0.95 and decimals > 0.5:
                roles[s.AMOUNT] = column
                break
    return roles


UNIT_PRICE_NAMES = {"unitprice", "priceeach", "itemprice", "einzelpreis", "stueckpreis", "price"}


def _unit_price_column(frame: pd.DataFrame, roles: dict[str, str]) -> str | None:
    for column in frame.columns:
        if column in roles.values():
            continue
        if normalise_name(column) in UNIT_PRICE_NAMES:
            return column
    return None


def guess_mapping(frame: pd.DataFrame, kind: str | None = None) -> ColumnMapping:
    """Guess the table kind and the role of each column.

    A table is read as transactions when it has a customer id, a purchase date and an amount (or a
    quantity and a unit price) and no customer-only roles dominate; otherwise as a customers table.

    Parameters
    ----------
    frame : pd.DataFrame
        `RawTable.frame`, the user's columns.
    kind : str, optional
        Force TRANSACTIONS or CUSTOMERS (None = guess).

    Returns
    -------
    ColumnMapping
        The guess, for the user to check on the Data page.
    """
    transaction_roles = _fallback_by_content(frame, _assign(frame, TRANSACTION_ROLE_ORDER))
    unit_price = None
    amount_name = normalise_name(transaction_roles.get(s.AMOUNT, ""))
    if s.QUANTITY in transaction_roles and amount_name in UNIT_PRICE_NAMES:
        # A price per unit beside a quantity is not what was paid: amount = quantity x price.
        unit_price = transaction_roles.pop(s.AMOUNT)
    elif s.AMOUNT not in transaction_roles and s.QUANTITY in transaction_roles:
        unit_price = _unit_price_column(frame, transaction_roles)
    customer_roles = _assign(frame, CUSTOMER_ROLE_ORDER)

    if kind is None:
        has_purchase = s.ORDER_DATE in transaction_roles and (s.AMOUNT in transaction_roles or unit_price is not None)
        date_is_customer_date = transaction_roles.get(s.ORDER_DATE) in {
            customer_roles.get(s.SIGNUP_DATE),
            customer_roles.get(s.CHURN_DATE),
        }
        ids_repeat = False
        if s.CUSTOMER_ID in transaction_roles:
            ids = frame[transaction_roles[s.CUSTOMER_ID]]
            found = distinct(ids)
            if found is None:
                ids_repeat = bool(ids[~is_blank(ids)].duplicated().any())
            else:  # a non-blank cell held by two rows or more
                ids_repeat = bool((found.counts[~is_blank(found.values).to_numpy()] > 1).any())
        customer_signal = len(set(customer_roles) - {s.CUSTOMER_ID, s.REGION})
        if has_purchase and not date_is_customer_date and (ids_repeat or customer_signal < 3):
            kind = s.TRANSACTIONS
        else:
            kind = s.CUSTOMERS
    if kind == s.TRANSACTIONS:
        return ColumnMapping(kind=kind, roles=transaction_roles, unit_price=unit_price)
    return ColumnMapping(kind=kind, roles=customer_roles)


def roles_for(kind: str) -> tuple[str, ...]:
    """The roles a table of this kind can map, in display order.

    Parameters
    ----------
    kind : str
        TRANSACTIONS or CUSTOMERS.

    Returns
    -------
    tuple of str
        Canonical role names.
    """
    return TRANSACTION_ROLE_ORDER if kind == s.TRANSACTIONS else CUSTOMER_ROLE_ORDER
