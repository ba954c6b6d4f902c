"""Reports: what a decided run looks like on disk, in a browser and on the terminal.

:mod:`~harness.report.publish` writes a run's folder (results.json, the HTML
page of :mod:`~harness.report.html`, inspect-ai logs); :mod:`~harness.report.terminal`
writes the terminal summary. Nothing is imported here, so reading a label does
not load jinja2 or matplotlib.
"""
