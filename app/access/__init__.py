"""Who may do what, in one place.

Request-free rules (they import only models and core; tests/test_architecture.py checks it):

- :mod:`.capabilities` — capability names, the dealer levels' capabilities, which capability
  each menu item needs;
- :mod:`.roles` — role names and every role check (no other module compares role names);
- :mod:`.aggregate` — the hospitals a manufacturer's pooled figures of a month are taken over;
- :mod:`.scope` — the scope of a user (and, once per request, of the request's user).

Their request side:

- :mod:`.dealer_choice` — the hospital a dealer acts for (its permissions, the session choice,
  the before-request gate);
- :mod:`.sessions` — the session rules (second factor passed, idle timeout, ended elsewhere);
- :mod:`.request_policy` — client address, IP allow-lists, CSRF, security headers;
- :mod:`.api_keys` — API keys: issuing, revoking, authenticating a request by its key;
- :mod:`.security_manager` — the one FAB SecurityManager subclass (menus ask :mod:`.capabilities`);
- :mod:`.role_sync` — roles as data, applied by ``flask optiserve sync-roles``.
"""
