"""The warehouse-connections service: settings, app factory, CLI and the connection lifecycle."""
