"""Type aliases of the core (arrays, keys), so that signatures read the same everywhere.

The box and its maps to and from the unit box live with the energy's
:class:`~skmaxent.core.energy.Geometry` (:func:`~skmaxent.core.energy.to_user`,
:func:`~skmaxent.core.energy.to_unit`).
"""

import jax

ArrayLike = jax.typing.ArrayLike
Array = jax.Array
PRNGKey = jax.Array
