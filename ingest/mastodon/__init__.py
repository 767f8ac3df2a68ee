"""Mastodon: REST API response models and their mapping to canonical rows."""
