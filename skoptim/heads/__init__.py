"""Heads: what a model's output means (link, loss, score, labels)."""
