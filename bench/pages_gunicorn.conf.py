"""deploy/gunicorn.conf.py for bench_pages.py, less what would measure gunicorn rather than the
pages: worker recycling (a restart every ~2,000 requests, i.e. several a second at full speed)
and the access log."""

import runpy
from pathlib import Path

_deploy = runpy.run_path(str(Path(__file__).resolve().parents[1] / "deploy" / "gunicorn.conf.py"))
globals().update({name: value for name, value in _deploy.items() if not name.startswith("_")})
max_requests = 0
accesslog = None
