pytest_plugins = ["certgate.plugin"]
