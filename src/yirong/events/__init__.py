"""Events for funders: the outbox pushed to each funder's endpoint (signed, retried),
and read through the API."""
