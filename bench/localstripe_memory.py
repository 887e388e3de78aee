"""localstripe for benchmarks: the same server, without two costs that grow with its store.

1. localstripe dumps its entire in-memory store to /tmp/localstripe.pickle after every write;
   nothing reads it back (we always start ``--from-scratch``): turned off.
2. Listing objects of one type scans the whole store, and every charge it returns lists its
   refunds that way: after 10,000 payments each request scanned ~50,000 objects. Here the
   store keeps an index of keys per object type, and listing reads only that type's keys (same
   objects, same order).

Without these, at 10,000 renewals the fake Stripe, not our code, is what gets measured.

Run: ``.venv/bin/python bench/localstripe_memory.py --port 8421 --from-scratch``
"""

from collections import defaultdict

from localstripe import resources, server

_keys_by_type: dict[str, dict[str, None]] = defaultdict(dict)


def _setitem(self, key, value):
    dict.__setitem__(self, key, value)
    if isinstance(key, str) and ":" in key:
        _keys_by_type[key.split(":", 1)[0]][key] = None


def _delitem(self, key):
    dict.__delitem__(self, key)
    if isinstance(key, str) and ":" in key:
        _keys_by_type[key.split(":", 1)[0]].pop(key, None)


def _list_all(cls, url, limit=None, starting_after=None, **kwargs):
    if kwargs:
        raise resources.UserError(400, "Unexpected " + ", ".join(kwargs.keys()))
    listing = resources.List(url, limit=limit, starting_after=starting_after)
    store = resources.store
    listing._list = [store[key] for key in _keys_by_type.get(cls.object, ())]
    return listing


resources.Store.dump_to_disk = lambda self: None
resources.Store.__setitem__ = _setitem
resources.Store.__delitem__ = _delitem
resources.StripeObject._api_list_all = classmethod(_list_all)

if __name__ == "__main__":
    server.start()
