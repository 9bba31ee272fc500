"""Plate recognition: detectors, readers, plate syntax. Imports neither the database nor the web code."""
