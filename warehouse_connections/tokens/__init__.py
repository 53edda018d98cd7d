"""Bearer tokens: the issuer's keys (key_set.py) and what makes a token valid (verifier.py)."""
