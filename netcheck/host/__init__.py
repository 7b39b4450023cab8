"""Facts about the machine netcheck runs on."""
