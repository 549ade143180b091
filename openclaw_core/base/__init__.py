"""Foundations: errors, units, session keys, cancellation, careful file
reads and planned file operations. Imports nothing of the project above it."""
