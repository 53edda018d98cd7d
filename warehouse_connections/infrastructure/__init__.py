"""What the service runs on besides its database: logging, metrics and the encryption keys of the secret store."""
