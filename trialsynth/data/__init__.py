"""The data a trial holds: read, cleaned (Appendix A), its design and identifiers found, and
synthetic files written and restored to the released layout."""
