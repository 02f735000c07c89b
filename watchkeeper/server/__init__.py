"""The manager's HTTP face: an app built by `build_app` over the app core, served by `wk serve`."""
