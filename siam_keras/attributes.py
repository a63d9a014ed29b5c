"""Attribute vocabularies.

`PAPER_ATTRIBUTES` are the 33 attributes of the SIAM paper's ScenicOrNot model, in
the authors' order. How each maps onto SUN Attributes' 102 lives with the SUN
dataset code.
"""

PAPER_ATTRIBUTES = (
    "trees", "grass", "flowers", "ocean", "running_water", "still_water", "road",
    "railroad", "fencing_railing", "wire", "transport", "wood", "ice_snow", "brick",
    "shingles", "metal", "cloth", "sand", "rock_stone", "glass", "aged_worn", "dirty",
    "rusty", "dry", "rugged_scene", "cluttered_space", "clouds", "horizon", "digging",
    "temple", "farming", "hiking", "social",
)
