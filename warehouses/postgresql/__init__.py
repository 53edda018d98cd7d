"""PostgreSQL as a warehouse type; scram.py makes the password verifier its setup script sets."""
