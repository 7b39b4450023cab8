"""The observe stage, netcheck's I/O edge: the run (session, runner) and what it looks with: probes (SYN, connect,
services), names (DNS, hosts, LLMNR, NetBIOS), host (this machine), discovery (the non-DNS needs) and access
(logging in to agents). It returns observations; the classifiers judge them."""
