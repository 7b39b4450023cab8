"""netcheck's data, immutable and free of I/O: every stage reads and makes these.

kinds (the enumerations), matrix (the product's connection matrix), observations (what probes saw), checks
(targets, checks, results, the report), record (the value types' decorator), address (IP text helpers).
"""
