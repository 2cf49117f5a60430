"""The demo and test lab: a TWCA-like PKI generated at run time, and loopback servers."""
