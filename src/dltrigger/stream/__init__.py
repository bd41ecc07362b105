"""``dltrigger stream`` and ``dltrigger score``: the trained classifier as a trigger filter."""
