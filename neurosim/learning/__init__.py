"""Learning: controllers that sequence a model's phases, and their learning rules."""
