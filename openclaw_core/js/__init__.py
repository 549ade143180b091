"""The one home of JavaScript semantics the reference's output depends on:
``JSON.parse``/``JSON.stringify`` (:mod:`.json`), coercions such as
``Number()``, ``String()``, ``trim()`` (:mod:`.values`) and V8's sort
(:mod:`.sort`)."""
