"""``datong bench``: each performance figure beside its limit, measured in the same run.

``services.bench.run.run_bench(quick, out)`` runs it and writes the JSON report;
``services.bench.report.render_table(report)`` prints it, and
``services.bench.markdown.render_markdown(json)`` renders a report (the one kept in
``docs/bench/latest.json`` fills the README's table). See ``run.py`` for the order of a
run. This package imports nothing itself: its modules also run as the limit
processes (``-m services.bench.consumers``...), whose memory is measured, and must not
carry the whole bench with them.
"""
