"""mlplat: the offline plan engine, policy check on a saved plan, cost and graph views."""
