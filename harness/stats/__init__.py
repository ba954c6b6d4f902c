"""Statistics: anytime-valid sequential tests, claim designs, intervals, planning, simulation.

Pure functions of label codes and counts; nothing here calls a model or reads a file.
"""
