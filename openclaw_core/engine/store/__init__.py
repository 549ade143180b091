"""Session stores: the in-memory state and its views (:mod:`.state`), the
backend seam (:mod:`.backend`), load/save normalisation (:mod:`.normalize`)
and the one writer per store (:mod:`.writer`)."""
