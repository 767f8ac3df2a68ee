"""Campaigns (issue #18): their terms from config/campaigns.yaml, and what they returned
from shop and web-analytics exports, into the warehouse."""
