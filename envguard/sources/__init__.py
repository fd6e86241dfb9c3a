"""One loader module per dependency-file format; `detect` decides which one reads a file."""
