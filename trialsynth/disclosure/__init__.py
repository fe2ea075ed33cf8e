"""What a file may disclose and what stops it: the replicated-uniques gate, the attack-risk gate
with its one smoothed re-draw, and school-level control."""
