"""Bluesky (AT Protocol AppView): response models and their mapping to canonical rows."""
