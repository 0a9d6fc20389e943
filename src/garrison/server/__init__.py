"""Components, their composition and lifecycle: what `garrison serve` runs."""
