"""What every Flask service of the platform shares: the app base, health checks, errors."""
