"""Instagram Graph API (business discovery): response models and their mapping to canonical rows."""
