"""Gradients and compiled functions under Keras' TensorFlow or JAX backend.

The one place for backend-specific differentiation: TensorFlow's `GradientTape` and
`tf.function`, JAX's `vjp` and `jit`. Each function imports the backend Keras runs
on when it is called, and nothing else (no TensorFlow under JAX).
"""

import keras

#: The backends these functions differentiate on.
BACKENDS = ("tensorflow", "jax")


def backend():
    """Keras' backend, or a ValueError if it is one these functions do not support."""
    name = keras.backend.backend()
    if name not in BACKENDS:
        raise ValueError(f"Gradients need one of Keras' backends {list(BACKENDS)}. "
                         f"Received: backend={name!r}")
    return name


def values_and_gradients(function, sources):
    """Several scalars and their gradients, from one forward pass.

    Args:
        function: called with one argument per source; returns a list of scalars.
        sources: arrays or tensors (differentiated as inputs of `function`), or
            `keras.Variable`s: a model `function` calls reads them as the values it
            is differentiated at (not inside a function given to `compiled`).

    Returns:
        (values, gradients): the scalars, and `gradients[i][j]`, the gradient of
        `values[i]` with respect to `sources[j]` (zeros where it does not depend
        on it), backend tensors.

    On JAX each call compiles `function` afresh (arrays it closes over become
    constants of the program): call it inside a function given to `compiled`, which
    compiles once per input shape, wherever it runs more than a few times.
    """
    if backend() == "tensorflow":
        return _tensorflow(function, list(sources))
    return _jax(function, list(sources))


def value_and_gradients(function, sources):
    """(value, [gradient with respect to each source]) of a scalar `function(*sources)`;
    arguments as for `values_and_gradients`."""
    values, gradients = values_and_gradients(lambda *args: [function(*args)], sources)
    return values[0], gradients[0]


def compiled(function, variables=()):
    """`function` compiled by the backend: `tf.function` on TensorFlow, `jax.jit` on JAX.

    JAX bakes what a function reads into its trace; `variables` (e.g. a model's
    `weights`) are passed in at every call instead, so the compiled function always
    sees their current values, as `tf.function` does.
    """
    if backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(function, reduce_retracing=True)
    import jax

    variables = list(variables)

    @jax.jit
    def stateless(values, *args):
        with keras.StatelessScope(state_mapping=list(zip(variables, values))):
            return function(*args)

    return lambda *args: stateless([variable.value for variable in variables], *args)


def _tensorflow(function, sources):
    import tensorflow as tf

    arguments = [s if isinstance(s, keras.Variable) else tf.convert_to_tensor(s) for s in sources]
    watched = [a.value if isinstance(a, keras.Variable) else a for a in arguments]
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(watched)
        values = list(function(*arguments))
    gradients = [tape.gradient(value, watched, unconnected_gradients=tf.UnconnectedGradients.ZERO)
                 for value in values]
    del tape
    return values, gradients


def _jax(function, sources):
    import jax
    import jax.numpy as jnp

    variables = [(j, s) for j, s in enumerate(sources) if isinstance(s, keras.Variable)]
    primals = [s.value if isinstance(s, keras.Variable) else jnp.asarray(s) for s in sources]

    def pure(*arguments):
        if not variables:  # no scope: inside `compiled`, the variables keep its values
            return [jnp.asarray(value) for value in function(*arguments)]
        mapping = [(variable, arguments[j]) for j, variable in variables]
        with keras.StatelessScope(state_mapping=mapping):
            return [jnp.asarray(value) for value in function(*arguments)]

    # One compiled program: op by op, JAX would compile every primitive of the forward
    # and backward passes on first use (9 s instead of 0.5 s for a small CNN's step).
    @jax.jit
    def forward_and_backward(primals):
        values, pullback = jax.vjp(pure, *primals)
        gradients = []
        for i in range(len(values)):
            cotangents = [jnp.ones_like(v) if k == i else jnp.zeros_like(v)
                          for k, v in enumerate(values)]
            gradients.append(list(pullback(cotangents)))
        return values, gradients

    return forward_and_backward(primals)
