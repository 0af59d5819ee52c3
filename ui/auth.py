"""Optional sign-in with Streamlit's built-in OpenID Connect login (`st.login`).

- `.streamlit/secrets.toml` WITHOUT an `[auth]` section (the default): the app runs open, as a
  local tool does; nothing here shows.
- WITH `[auth]` (one provider, or several as `[auth.<name>]` sub-sections): every page asks for
  sign-in first; the signed-in user sees who they are and a sign-out button in the sidebar.

It fails closed: when `[auth]` is configured but sign-in cannot work on this server (the Authlib
package is missing), the app says so and shows nothing else.

After sign-in the provider sends the browser back to the app's home page, so a share link opened
before signing in has to be opened again afterwards; the sign-in page says so.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError


def auth_section() -> Mapping | None:
    """The `[auth]` section of the app's secrets, or None when there is none (or no secrets file)."""
    try:
        return st.secrets.get("auth", None)
    except (StreamlitSecretNotFoundError, FileNotFoundError):
        return None


def sign_in_configured() -> bool:
    return auth_section() is not None


def providers(section: Mapping) -> list[str | None]:
    """The providers to offer: None is the default `[auth]` one, names are `[auth.<name>]` sections."""
    named = [key for key, value in section.items() if isinstance(value, Mapping)]
    if "client_id" in section or not named:
        return [None, *named]
    return named


def sign_in_page() -> None:
    """The only page a signed-out visitor can reach: one button per configured provider."""
    section = auth_section() or {}
    st.title("Keepwise")
    st.markdown("This Keepwise is for your team only. Sign in with your work account to continue.")
    if importlib.util.find_spec("authlib") is None:
        st.error(
            "Sign-in is switched on for this app ([auth] in its secrets), but the server lacks the Authlib "
            "package that sign-in needs. Whoever runs the app: install Authlib (version 1.3.2 or newer) and "
            "restart. The app stays closed until then."
        )
        return
    for provider in providers(section):
        label = "Sign in" if provider is None else f"Sign in with {provider.replace('_', ' ').title()}"
        st.button(
            label,
            on_click=st.login,
            args=() if provider is None else (provider,),
            type="primary",
            key=f"auth_sign_in_{provider or 'default'}",
            icon=":material/login:",
        )
    if st.query_params.get("share"):
        st.info("You opened a share link. Signing in brings you to the home page: open the link again afterwards.")


def require_sign_in() -> None:
    """Stop every page until the user has signed in, when the deployment configures `[auth]`."""
    if auth_section() is None:
        return
    if st.user.get("is_logged_in", False):
        with st.sidebar:
            who = st.user.get("name") or st.user.get("email") or "you"
            st.caption(f"Signed in as {who}.")
            st.button("Sign out", on_click=st.logout, key="auth_sign_out", icon=":material/logout:")
        return
    # A navigation of one hidden page: every address shows the sign-in page, and Streamlit does not
    # fall back to listing the files of pages/ in the sidebar (it does when st.navigation is not called).
    st.navigation([st.Page(sign_in_page, title="Sign in", default=True)], position="hidden").run()
    st.stop()
