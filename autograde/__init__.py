"""Instructor tooling: release, collect, autograde, feedback, grades CSV.

Reference implementations (``autograde.reference``) and hidden checks
(``autograde.hidden``) live here, outside the student-facing package ``rnncourse``.
"""
