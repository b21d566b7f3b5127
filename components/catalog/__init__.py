"""Facts as data (instance types, prices, versions, model specs), each with its source."""
