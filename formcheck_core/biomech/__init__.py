"""Biomechanics: pure functions and frozen values from pose series to per-rep metrics.

series (filtering, gaps) -> kinematics (angles, bar path) -> view -> moments (reps, key
moments) -> metrics (one registered function per metric, see metric_spec) -> quality;
back_profile/back_series read the back from the person mask. Nothing here draws, reads
video or imports the LLM layer.
"""
