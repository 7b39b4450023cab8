"""The plan stage: the topology read from what the user gave (topology), the checks planned from the product's
connection matrix (planner), and the firewall rules the deployment needs (firewall)."""
