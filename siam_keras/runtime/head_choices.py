"""The SIAM head's closed choices, without Keras: `SIAMLayer` checks its arguments against
them, and the training config its values before anything heavy is imported."""

#: `head`: templates matched against the maps (the paper), or each map's mean alone.
HEADS = ("templates", "linear")
#: How a labelled output's C labels (classes, tags) use the templates: one set of G
#: templates per attribute shared by the labels, each label mixing their responses with
#: its own weights ("shared"), or G templates per attribute and label ("per_class").
CLASS_TEMPLATES = ("shared", "per_class")
DEFAULT_CLASS_TEMPLATES = "shared"
