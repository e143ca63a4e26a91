"""The long-running daemon: watching, resync, leader election, HTTP endpoints."""
