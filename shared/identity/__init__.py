"""Identity and tenancy: who a principal is, what they may see (the tenant scope), and how they
authenticate (passwords, server-side sessions, personal API tokens, portal service tokens)."""
