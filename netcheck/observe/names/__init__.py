"""Name resolution checks: how a host name of the topology turns into addresses."""
