"""Defining hypotheses: prompt pairs, claims about their shares, classifiers, ``@behavior``."""
