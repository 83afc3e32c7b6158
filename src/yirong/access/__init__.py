"""Who may do what: people's sign-ins, funder systems' API keys, throttled logins and
the operators' append-only audit log."""
