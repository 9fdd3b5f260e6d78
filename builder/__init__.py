"""Offline gallery builder that recommends music for pictures by the feeling they give."""

__version__ = "0.2.0"
