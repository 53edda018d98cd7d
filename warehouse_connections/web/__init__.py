"""The HTTP stack around the handlers: middleware, validators, the problem mapping, the fast path.

`middleware.stack()` lists the middleware from the outside in; every use of connexion's or a2wsgi's
internals is in `connexion_seam`.
"""
