"""TikTok Research API: access is for approved non-commercial researchers only (reference §5)."""
