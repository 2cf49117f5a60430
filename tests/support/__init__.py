"""Helpers the self-tests share: audit runs, admin files, openssl-made files, nginx,
Chromium, the real checks."""
