"""localstripe for benchmarks: the same server, without its per-write pickle of the whole store.

localstripe dumps its entire in-memory store to /tmp/localstripe.pickle after every write, so
each request costs time proportional to everything created so far: at 10,000 renewals the fake
Stripe, not our code, would be what is measured. This launcher turns that dump off (nothing
reads it back: we always start ``--from-scratch``) and starts localstripe as its command does.

Run: ``.venv/bin/python bench/localstripe_memory.py --port 8421 --from-scratch``
"""

from localstripe import resources, server

resources.Store.dump_to_disk = lambda self: None

if __name__ == "__main__":
    server.start()
