"""Will the remote installation work? Credentials, the installer's channels (SSH, SMB) and the agent's side."""
