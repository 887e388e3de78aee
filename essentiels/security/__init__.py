"""Project-wide security glue: the Content-Security-Policy (csp.py), the client's address behind
our proxy (client_ip.py) and login throttling with django-axes (login_throttle.py)."""
