"""One module per bcmlp sub-command (or group of them); app.cli registers them."""
