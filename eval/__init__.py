"""Evaluation of amc against labelled pairs: Kaggle-shaped tables and their scores.

``eval.scoring`` reads and validates submission / solution tables and computes
the metrics that the TRACS task reports (see ``tracs-task.md``, "Scoring").
"""
