"""Scheduled report rendering."""
