"""Tuning data: where every record comes from and how it is read.

* `records`     the shared conventions: number reading, the missing-value fill (NaN), the
                duplicate rule (a configuration's first record counts)
* `validation`  checks of trace records and Kernel Tuner cache values (a problem or None)
* `traces`      ml2tuner trace files (JSON Lines): write, lock, resume, read, validate
* `exhaustive`  `ExhaustiveData`: every configuration of a space with status, cost and profile
                time, from an exhaustive trace or a Kernel Tuner cache (native or T4 schema)
* `datasets`    many traces streamed into compact arrays for offline training (`TraceSet`)
* `descriptors` the numeric task descriptor of a trace, measurer or dict

The old module paths `ml2tuner.traces` and `ml2tuner.kt_cache` are aliases of `traces` and
`exhaustive`.
"""
