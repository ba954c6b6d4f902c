"""Statistics: sequential tests, intervals, planning and paraphrase-level analysis.

Pure functions of counts and claims; nothing here calls a model or reads a file.
"""
