"""Authentication building blocks, free of views: TOTP and recovery codes, password policy,
the password step with lockout, and the session rules. The screens are app/views/auth.py."""
