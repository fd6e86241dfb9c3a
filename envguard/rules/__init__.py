"""One module per rule family; each yields Findings and never parses a file."""
