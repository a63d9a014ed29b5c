"""Evaluating models and their explanations against what is known to be true.

`model_metrics` scores a model's outputs and attributes on labelled images;
`explanation_ground_truth` scores SIAM's explanations and post-hoc methods against
`synthetic_scenes`' true masks and contributions; `sanity` randomises a head
(Adebayo et al. 2018); `timing` times explanations against predictions;
`explanation_report` formats the results. Importing the package imports nothing
heavy; each module loads Keras when it needs it.
"""
