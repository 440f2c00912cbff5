"""Click commands, one module each; each parses options and calls core functions."""
