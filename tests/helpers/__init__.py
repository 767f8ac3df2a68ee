"""Shared test helpers: loopback servers, small worlds, warehouse queries."""
