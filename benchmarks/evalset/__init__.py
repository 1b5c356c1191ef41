"""The labelled evaluation set of semantic and hybrid search (issue 16).

``cases.py`` makes the questions and their relevant passages from templates filled with the
data generator's vocabulary (seeded: ``cases.json`` is its output, checked in), ``corpus.py``
seeds a database with those passages among generated distractors, ``metrics.py`` scores
rankings (recall@k, nDCG@k). ``benchmarks/semantic_eval.py`` runs it.
"""
