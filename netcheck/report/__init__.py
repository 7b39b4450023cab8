"""Renderers: pure functions Report → text, one module per format."""
