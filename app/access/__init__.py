"""Who may do what, in one place.

- :mod:`.capabilities` — capability names, the dealer levels' capabilities, which capability
  each menu item needs;
- :mod:`.roles` — role names and every role check (no other module compares role names);
- :mod:`.dealer_choice` — the hospital a dealer acts for (its permissions, the session choice);
- :mod:`.aggregate` — the hospitals a manufacturer's pooled figures of a month are taken over;
- :mod:`.scope` — the scope of a user or request, built from the above.

Layering (no import circle): ``app.models`` ← ``app.access`` ← domain modules and views. Nothing
in this package imports a domain module (``app.dealers``, ``app.manufacturers``…) or a view.
The request policy (``app.policy``) and the security manager (``app.security``) stay where they
are until the layout issue (#12); the security manager asks :mod:`.capabilities` for menus.
"""
