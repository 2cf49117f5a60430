"""The compliance checks: one test per control. Installed, they are the package certgate.checks."""
