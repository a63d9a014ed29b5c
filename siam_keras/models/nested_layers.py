"""`nested_layers`: every layer of a model, the layers of its nested models included."""


def nested_layers(model):
    """The layers of `model` and, recursively, of the models and layers it nests (a
    backbone inside a task model, a keras.applications network inside a backbone)."""
    stack, found = list(model.layers), []
    while stack:
        layer = stack.pop()
        found.append(layer)
        stack.extend(getattr(layer, "layers", ()))
    return found
