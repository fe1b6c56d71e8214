"""The report layer: evaluations in, the paper's tables and figure and the evidence beyond them out.

It holds what the report reads (`inputs`, with `published_values.yaml`), the numbers of each cell (`cells`), Tables
2-4, Figure 3 and report.md (`tables`), the run's health (`health`), the evidence sections (`evidence`:
significance, selection, probes, counterfactuals, the cue sweep, anchors, claims), the figures (`figures`) and the
self-contained report.html (`html_report`). It is the top of the library: it may import every layer below
(evaluation, training, model, data, `config`, `io`), and nothing imports it but the `report` stage.
"""
