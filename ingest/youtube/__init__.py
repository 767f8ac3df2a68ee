"""YouTube Data API v3 connector: channels, uploads playlists, video statistics, search."""
