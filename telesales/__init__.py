"""Telesales: the system that runs an insurance telesales center."""
