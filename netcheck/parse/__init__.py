"""Pure parsers of what operating systems print (netsh, PowerShell JSON, /proc, nft, iptables): text in, data out.
Both the observe stage (which runs the commands) and the classifiers use them; nothing here does I/O."""
