"""The platform's own library, used by every service: config, db, storage, events, metrics,
identity/tenancy, audit, logging."""
