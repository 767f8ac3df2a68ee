"""Where the project and its bundled demo feed are, and the demo's one day."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEMO_FEED = ROOT / "fixtures" / "demo"
DEMO_INTERVAL = (datetime(2026, 11, 20), datetime(2026, 11, 21))
