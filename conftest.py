pytest_plugins = ["certgate.plugin"]  # skipped when its entry point (same name) loaded it
