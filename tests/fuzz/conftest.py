"""A fixed hypothesis budget for the fuzzers, so the whole set runs in well under a minute in CI.

`ci` (the default here): few examples per property, no deadline (a loaded 2-core runner must not
turn slowness into failures), no example database written into the tree. `HYPOTHESIS_PROFILE=deep`
runs many more examples locally when hunting.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=40, deadline=None, database=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("deep", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
